import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  collectingHost,
  featureTrial,
  hingeMode,
  logSteps,
  ofKind,
  okOutcome,
  responseSeries,
} from '../test-support';
import { modesAnalyzer, trajectoryDeviation } from './modes';

const steps = logSteps(10_000, 100);

test("modes learned in the theory's order; a mode is independent of another mode's data", async () => {
  const { host, findings } = collectingHost([{ definition: modesAnalyzer }]);
  const mode0 = hingeMode(1, 1, 1e-3),
    mode1 = (r: number) => hingeMode(0.5, r, 1e-3);
  const runs: [string, number, number][] = [
    ['A', 1, 1], // mode 1 twice as slow (p r = 0.5)
    ['B', 2, 1], // feature 1 doubled: mode 0 unchanged
    ['C', 4, 1.2], // feature 1 changed and mode 0 perturbed by 20%
  ];
  for (const [id, r1, scale0] of runs) {
    const t = featureTrial(id, [
      [1, 1],
      [0.5, r1],
    ]);
    await host.chunk(
      's',
      t,
      responseSeries(steps, 0.1, [(tt) => scale0 * mode0(tt), (tt) => mode1(r1)(tt) / r1]),
    );
    await host.trialEnd('s', t, okOutcome());
  }
  await host.sweepEnd('s');
  const orders = ofKind(findings, 'mode-order');
  assert.deepEqual(
    orders.map((f) => [
      f.trialId,
      f.evidence['rank.0'],
      f.evidence['rank.1'],
      f.evidence.concordantPairs,
      f.evidence.discordantPairs,
      f.severity,
    ]),
    [
      ['A', 0, 1, 1, 0, 'info'],
      ['B', 0, 1, 0, 0, 'info'],
      ['C', 1, 0, 1, 0, 'info'],
    ],
  );
  const ind = ofKind(findings, 'mode-independence').map((f) => [
    f.trialId,
    f.relatedTrials[0],
    f.evidence.feature,
    f.evidence.firstChangedFeature,
    f.evidence.independent,
    Number(f.evidence.deviation!.toFixed(6)),
  ]);
  assert.deepEqual(ind, [
    ['A', 'B', 0, 1, 1, 0],
    ['A', 'C', 0, 1, 0, Number((0.2 / 1.2).toFixed(6))],
    ['B', 'C', 0, 1, 0, Number((0.2 / 1.2).toFixed(6))],
  ]);
});

test('trajectory deviation interpolates onto common steps', () => {
  assert.equal(
    trajectoryDeviation(
      { steps: [1, 100], values: [0, 2] },
      { steps: [1, 10, 100], values: [0, 1, 2] },
    ),
    0,
  );
  assert.equal(
    trajectoryDeviation(
      { steps: [1, 100], values: [0, 2] },
      { steps: [1, 10, 100], values: [0, 1.5, 2] },
    ),
    0.25,
  );
});
