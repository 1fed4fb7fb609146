import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logSpacedIndices } from './downsample';
import { halfErrorTime } from './learning-time';
import { logSigmoidAt, logSpace } from './log-sigmoid';
import { logLogFit } from './learning-time-figure';
import { pickEvenly } from './figure';

void test('logSpacedIndices keeps every point of a short series', () => {
  assert.deepEqual(logSpacedIndices([0, 1, 5, 9], 10), [0, 1, 2, 3]);
});

void test('logSpacedIndices thins a linear record schedule evenly in log time, keeping both ends', () => {
  const steps = Array.from({ length: 10_001 }, (_, i) => i);
  const idx = logSpacedIndices(steps, 5);
  // targets log1p(step) = k/4 * ln(10001): the first steps reaching them are ceil(10001^(k/4) - 1) = 10, 100, 1000.
  assert.deepEqual(idx, [0, 10, 100, 1000, 10_000]);
  assert.ok(logSpacedIndices(steps, 80).length <= 80);
});

void test('halfErrorTime: first recorded step with error at most half the initial error', () => {
  assert.equal(halfErrorTime({ steps: [0, 10, 20, 40], error: [0.5, 0.3, 0.25, 0.1] }), 20);
  assert.equal(halfErrorTime({ steps: [0, 10], error: [0.5, 0.4] }), undefined, 'never halved');
  assert.equal(halfErrorTime({ steps: [0, 10], error: [0, 0] }), undefined, 'nothing to learn');
  assert.equal(halfErrorTime({ steps: [], error: [] }), undefined);
  assert.equal(halfErrorTime({ steps: [0, 1], error: [NaN, 0] }), undefined);
});

void test('logSigmoidAt: plateaus, half-way point and width in ln(step)', () => {
  const s = { learningTime: 100, width: 0.5, start: 0.5, end: 0 };
  assert.equal(logSigmoidAt(s, 100), 0.25);
  // one width later in ln(step): 0.5 / (1 + e)
  assert.ok(Math.abs(logSigmoidAt(s, 100 * Math.exp(0.5)) - 0.5 / (1 + Math.E)) < 1e-15);
  assert.ok(Math.abs(logSigmoidAt(s, 1e-6) - 0.5) < 1e-9);
  assert.equal(logSigmoidAt(s, 1e300), 0);
});

void test('logSpace spans [from, to] geometrically', () => {
  const xs = logSpace(1, 1000, 4);
  assert.equal(xs.length, 4);
  xs.forEach((x, k) => assert.ok(Math.abs(x - 10 ** k) < 1e-9 * 10 ** k));
});

void test('logLogFit recovers a power law and refuses a single x', () => {
  const pts = [0.5, 1, 2, 4].map((x) => ({ x, y: 100 / x }));
  const fit = logLogFit(pts)!;
  assert.ok(Math.abs(fit.slope + 1) < 1e-12);
  assert.ok(Math.abs(fit.intercept - Math.log(100)) < 1e-12);
  assert.equal(
    logLogFit([
      { x: 2, y: 1 },
      { x: 2, y: 3 },
    ]),
    undefined,
  );
});

void test('pickEvenly keeps the ends and spreads the rest', () => {
  assert.deepEqual(pickEvenly([0, 1, 2, 3, 4, 5, 6, 7, 8], 3), [0, 4, 8]);
  assert.deepEqual(pickEvenly([1, 2], 5), [1, 2]);
});
