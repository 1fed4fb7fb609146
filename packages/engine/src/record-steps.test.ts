import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { recordSteps } from './record-steps';
import { makeTrial } from './test-support';

describe('recordSteps', () => {
  it('records exactly the explicit steps, sorted and unique', () => {
    assert.deepEqual(
      recordSteps(makeTrial({ steps: 50, record: { steps: [40, 3, 3, 0] } })),
      [0, 3, 40],
    );
  });
  it('records every k steps, the first and the last', () => {
    assert.deepEqual(
      recordSteps(makeTrial({ steps: 23, record: { every: 5 } })),
      [0, 5, 10, 15, 20, 23],
    );
  });
  it('records log-spaced steps plus the first and the last by default', () => {
    const s = recordSteps(makeTrial({ steps: 1000, record: { every: 0, logPoints: 4 } }));
    assert.deepEqual(s, [0, 1, 10, 100, 1000]);
    const d = recordSteps(makeTrial({ steps: 100000, record: { every: 0 } }));
    assert.equal(d[0], 0);
    assert.equal(d[d.length - 1], 100000);
    assert.ok(d.length > 60 && d.length <= 101, `${d.length} points`);
    for (let i = 1; i < d.length; i++) assert.ok(d[i]! > d[i - 1]!);
  });
});
