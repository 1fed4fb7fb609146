import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLinear } from './fit-linear';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('one regressor: slope, intercept, standard error, interval and R^2 match scipy.stats.linregress', () => {
  const fit = fitLinear([[1], [2], [3], [4], [5], [6]], [2.3, 3.9, 6.4, 7.7, 10.2, 11.8])!;
  close(fit.slopes[0]!.estimate, 1.9342857142857144, 1e-12, 'slope');
  close(fit.intercept, 0.27999999999999936, 1e-12, 'intercept');
  close(fit.slopes[0]!.stderr, 0.06963461489687993, 1e-12, 'stderr');
  close(fit.slopes[0]!.ciLow, 1.7409490286029388, 1e-9, 'ciLow');
  close(fit.slopes[0]!.ciHigh, 2.12762239996849, 1e-9, 'ciHigh');
  close(fit.r2, 0.994842686751826, 1e-12, 'r2');
  assert.equal(fit.df, 4);
});

test('two regressors: coefficients and standard errors match numpy least squares', () => {
  const fit = fitLinear(
    [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [2, 1],
      [1, 2],
      [2, 2],
    ],
    [1.0, 0.1, -0.8, -1.9, -3.1, -3.9, -4.8],
  )!;
  close(fit.intercept, 1.0690476190476177, 1e-12, 'intercept');
  close(fit.slopes[0]!.estimate, -1.0666666666666655, 1e-12, 'b1');
  close(fit.slopes[1]!.estimate, -1.916666666666666, 1e-12, 'b2');
  close(fit.slopes[0]!.stderr, 0.06139903313441737, 1e-12, 'se1');
  close(fit.slopes[1]!.stderr, 0.06139903313441737, 1e-12, 'se2');
  close(
    fit.slopes[0]!.ciHigh - fit.slopes[0]!.estimate,
    2.7764451051977934 * 0.06139903313441737,
    1e-9,
    'half-width',
  );
});

test('too few points or collinear regressors give no fit', () => {
  assert.equal(fitLinear([[1], [2]], [1, 2]), undefined);
  assert.equal(
    fitLinear(
      [
        [1, 2],
        [2, 4],
        [3, 6],
        [4, 8],
      ],
      [1, 2, 3, 5],
    ),
    undefined,
  );
});
