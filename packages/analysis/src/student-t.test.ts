import { test } from 'node:test';
import assert from 'node:assert/strict';
import { studentTCdf, studentTQuantile } from './student-t';

// Reference values from scipy.stats.t (an independent implementation).
const quantiles975: [number, number][] = [
  [1, 12.706204736174694],
  [2, 4.302652729749462],
  [5, 2.5705818356363146],
  [10, 2.228138851986274],
  [30, 2.0422724563012378],
  [200, 1.9718962236339088],
];
const cdfs: [number, number, number][] = [
  [1, 1.5, 0.8128329581890011],
  [2, 1.5, 0.8638034375544994],
  [10, 1.5, 0.9177463367772799],
  [5, -0.7, 0.2575744741574082],
  [30, -0.7, 0.24466022174983582],
];

test('Student t quantiles match scipy within 1e-9 relative', () => {
  for (const [df, q] of quantiles975)
    assert.ok(
      Math.abs(studentTQuantile(0.975, df) / q - 1) < 1e-9,
      `df ${df}: ${studentTQuantile(0.975, df)} vs ${q}`,
    );
  assert.equal(studentTQuantile(0.5, 7), 0);
  assert.ok(Math.abs(studentTQuantile(0.025, 10) + 2.228138851986274) < 1e-9);
});

test('Student t CDF matches scipy within 1e-12', () => {
  for (const [df, t, p] of cdfs)
    assert.ok(
      Math.abs(studentTCdf(t, df) - p) < 1e-12,
      `df ${df} t ${t}: ${studentTCdf(t, df)} vs ${p}`,
    );
  assert.equal(studentTCdf(0, 3), 0.5);
});
