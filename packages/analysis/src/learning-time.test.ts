import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossingStep, halfwayStep } from './learning-time';
import { valueAt } from './series';

test('crossings are interpolated in log step (exact for curves linear in ln t)', () => {
  const steps = [0, 1, 10, 100, 1000];
  const values = steps.map((s) => (s === 0 ? 0 : Math.log10(s)));
  assert.ok(Math.abs(crossingStep(steps, values, 1.5)! - Math.sqrt(10) * 10) < 1e-9);
  assert.equal(crossingStep(steps, values, 0), 0);
  assert.equal(crossingStep(steps, values, 4), undefined);
  assert.ok(
    Math.abs(crossingStep([0, 2], [0, 1], 0.25)! - 0.5) < 1e-12,
    'from step 0: linear in step',
  );
});

test('falling curves cross from above; the half-way step is between first and last value', () => {
  const steps = [1, 10, 100, 1000];
  assert.ok(Math.abs(crossingStep(steps, [0.5, 0.5, 0.1, 0], 0.3)! - Math.sqrt(1000)) < 1e-9);
  assert.ok(Math.abs(halfwayStep(steps, [0.5, 0.5, 0.1, 0])! - 10 ** (1 + 0.25 / 0.4)) < 1e-9);
  assert.equal(halfwayStep(steps, [1, 1, 1, 1]), undefined);
});

test('valueAt interpolates in ln step and clamps at the ends', () => {
  assert.ok(Math.abs(valueAt([1, 100], [0, 2], 10) - 1) < 1e-12);
  assert.equal(valueAt([1, 100], [0, 2], 1000), 2);
  assert.equal(valueAt([1, 100], [0, 2], 0), 0);
  assert.equal(valueAt([0, 4], [0, 2], 1), 0.5);
});
