import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitBySize } from './split-by-size';

test('runs stay under the limit with their framing, keep order, and an oversized item goes alone', () => {
  const sizes = [10, 20, 30, 200, 5, 5, 40];
  const parts = splitBySize(sizes, (n) => n, 60);
  assert.deepEqual(parts, [[10, 20], [30], [200], [5, 5], [40]]);
  for (const p of parts)
    if (p.length > 1) assert.ok(p.reduce((a, n) => a + n + 8, 0) <= 60, `${p.join('+')} fits`);
  assert.deepEqual(
    splitBySize([], (n: number) => n, 60),
    [[]],
  );
});
