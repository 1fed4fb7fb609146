import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSigmoid, nelderMead, sigmoidAt } from './fit-sigmoid';

const us = Array.from({ length: 60 }, (_, i) => (i * Math.log(1e4)) / 59);

test('recovers an exact decreasing sigmoid in log time', () => {
  const truth = { start: 0.5, end: 0.02, center: Math.log(300), width: 0.4 };
  const fit = fitSigmoid(
    us,
    us.map((u) => sigmoidAt(truth, u)),
  )!;
  assert.ok(Math.abs(fit.center - truth.center) < 1e-4, `center ${fit.center}`);
  assert.ok(Math.abs(fit.width / truth.width - 1) < 1e-3, `width ${fit.width}`);
  assert.ok(Math.abs(fit.start - 0.5) < 1e-5 && Math.abs(fit.end - 0.02) < 1e-5);
  assert.ok(fit.r2 > 1 - 1e-9);
  assert.equal(fit.points, 60);
});

test('a sharp, step-like rise is located between the two samples it falls between', () => {
  const fit = fitSigmoid(
    us,
    us.map((u) => (u < 5 ? 0 : 1)),
  )!;
  const below = us.filter((u) => u < 5).pop()!,
    above = us.find((u) => u >= 5)!;
  assert.ok(
    fit.center > below && fit.center < above,
    `center ${fit.center} not in (${below}, ${above})`,
  );
  assert.ok(fit.r2 > 0.999);
});

test('a bump is not a sigmoid; too few points give no fit', () => {
  const fit = fitSigmoid(
    us,
    us.map((u) => Math.exp(-((u - 4.5) ** 2))),
  )!;
  assert.ok(fit.r2 < 0.6, `r2 ${fit.r2}`);
  assert.equal(fitSigmoid([1, 2, 3], [0, 1, 2]), undefined);
  assert.equal(fitSigmoid([1, 1, 1, 1], [0, 1, 2, 3]), undefined);
});

test('Nelder-Mead finds the minimum of the Rosenbrock function', () => {
  const [x, y] = nelderMead(
    ([a, b]) => (1 - a!) ** 2 + 100 * (b! - a! * a!) ** 2,
    [-1.2, 1],
    [0.5, 0.5],
    2000,
    1e-20,
  );
  assert.ok(Math.abs(x! - 1) < 1e-4 && Math.abs(y! - 1) < 1e-4, `${x}, ${y}`);
});
