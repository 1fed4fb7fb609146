import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectingHost, featureTrial, ofKind, okOutcome, seriesOf } from '../test-support';
import { expectedShares, gradientShareAnalyzer, integratedShares } from './gradient-share';

const starving = seriesOf([
  { step: 0, loss: 0.69, gradShare: [0.96, 0.04] },
  { step: 10, loss: 0.5, gradShare: [0.99, 0.01] },
  { step: 100, loss: 0.2, gradShare: [0.998, 0.002] },
  { step: 1000, loss: 0.2, gradShare: [0.2, 0.8] },
]);

test('shares are integrated over the steps where the loss fell (trapezoid), flat stretches left out', () => {
  const r = integratedShares(starving);
  // (10 * (0.04 + 0.01) / 2 + 90 * (0.01 + 0.002) / 2) / 100
  assert.ok(Math.abs(r.shares[1]! - 0.0079) < 1e-12, String(r.shares[1]));
  assert.ok(Math.abs(r.shares[0]! - 0.9921) < 1e-12);
  assert.equal(r.fallingSteps, 100);
  assert.equal(r.totalSteps, 1000);
});

test('expected shares come from frequency and norm of the informative features present', () => {
  const e = expectedShares(
    featureTrial('t', [[1, 1], [0.2, 1], { frequency: 1, norm: 3, informative: false }]),
  )!;
  assert.deepEqual(
    e.map((v) => Number(v.toFixed(12))),
    [Number((1 / 1.04).toFixed(12)), Number((0.04 / 1.04).toFixed(12)), 0],
  );
  assert.equal(
    expectedShares(featureTrial('t', [{ frequency: 1, norm: 1, knockedOut: true }])),
    undefined,
  );
});

test('the rare feature is starved with the frequent one present, and not when it is knocked out', async () => {
  const ko = featureTrial('without', [{ frequency: 1, norm: 1, knockedOut: true }, [0.2, 1]]);
  const { host: h2, findings: f2 } = collectingHost([{ definition: gradientShareAnalyzer }]);
  const t = featureTrial('with', [
    [1, 1],
    [0.2, 1],
  ]);
  await h2.chunk('s', t, starving);
  await h2.trialEnd('s', t, okOutcome());
  await h2.chunk(
    's',
    ko,
    seriesOf([
      { step: 0, loss: 0.69, gradShare: [0, 1] },
      { step: 10, loss: 0.6, gradShare: [0, 1] },
      { step: 100, loss: 0.5, gradShare: [0, 1] },
    ]),
  );
  await h2.trialEnd('s', ko, okOutcome());
  const s2 = ofKind(f2, 'starved-feature');
  assert.equal(s2.length, 1);
  assert.equal(s2[0]!.trialId, 'with');
  assert.equal(s2[0]!.severity, 'warning');
  const e = s2[0]!.evidence;
  assert.equal(e.feature, 1);
  assert.equal(e.dominant, 0);
  assert.ok(Math.abs(e.share! - 0.0079) < 1e-12);
  assert.ok(Math.abs(e.ratio! - 0.0079 / (0.04 / 1.04)) < 1e-9);
  assert.deepEqual(
    ofKind(f2, 'gradient-share').map((f) => [f.trialId, f.evidence.dominant]),
    [
      ['with', 0],
      ['without', 1],
    ],
  );
});

test('no flag when no other feature dominates, or when the share is near what frequency and norm give', async () => {
  const { host, findings } = collectingHost([
    { definition: gradientShareAnalyzer, options: { dominantShare: 0.999 } },
  ]);
  const t = featureTrial('t', [
    [1, 1],
    [0.2, 1],
  ]);
  await host.chunk('s', t, starving);
  await host.trialEnd('s', t, okOutcome());
  const u = featureTrial('u', [
    [1, 1],
    [1, 1],
  ]);
  await host.chunk(
    's',
    u,
    seriesOf([
      { step: 0, loss: 0.7, gradShare: [0.5, 0.5] },
      { step: 10, loss: 0.3, gradShare: [0.45, 0.55] },
    ]),
  );
  await host.trialEnd('s', u, okOutcome());
  assert.equal(ofKind(findings, 'starved-feature').length, 0);
});
