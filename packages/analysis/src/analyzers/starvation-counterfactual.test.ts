import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectingHost, featureTrial, ofKind, okOutcome, seriesOf } from '../test-support';
import { starvationCounterfactualAnalyzer } from './starvation-counterfactual';

const run = async (trials: [ReturnType<typeof featureTrial>, number[]][], options = {}) => {
  const { host, findings } = collectingHost([
    { definition: starvationCounterfactualAnalyzer, options },
  ]);
  for (const [t, finalProbes] of trials) {
    await host.chunk(
      's',
      t,
      seriesOf([
        { step: 0, probes: finalProbes.map(() => 0) },
        { step: 100, probes: finalProbes },
      ]),
    );
    await host.trialEnd('s', t, okOutcome());
  }
  await host.sweepEnd('s');
  return findings;
};

test('knock-out and strength pairs: ratios, starvation below the threshold, a summary over seeds', async () => {
  const both = (id: string, seed: number) =>
    featureTrial(
      id,
      [
        [1, 1],
        [0.2, 1],
      ],
      { seed },
    );
  const ko = (id: string, seed: number) =>
    featureTrial(id, [{ frequency: 1, norm: 1, knockedOut: true }, [0.2, 1]], { seed });
  const weak = (id: string) =>
    featureTrial(id, [
      [1, 0.5],
      [0.2, 1],
    ]);
  const findings = await run([
    [both('A', 0), [5, 0.6]],
    [ko('B', 0), [0.1, 3]],
    [weak('C'), [3, 1.2]],
    [both('A1', 1), [5, 0.9]],
    [ko('B1', 1), [0.1, 3]],
  ]);
  const ratios = ofKind(findings, 'counterfactual-ratio').map((f) => [
    f.trialId,
    f.relatedTrials[0],
    f.evidence.feature,
    f.evidence.otherFeature,
    f.evidence.knockout,
    Number(f.evidence.ratio!.toFixed(12)),
  ]);
  assert.deepEqual(ratios.sort(), [
    ['A', 'B', 1, 0, 1, 0.2],
    ['A', 'C', 1, 0, 0, 0.5],
    ['A1', 'B1', 1, 0, 1, 0.3],
    ['C', 'B', 1, 0, 1, 0.4],
  ]);
  assert.deepEqual(
    ofKind(findings, 'starved-feature')
      .map((f) => [f.trialId, f.severity])
      .sort(),
    [
      ['A', 'warning'],
      ['A1', 'warning'],
      ['C', 'warning'],
    ],
  );
  assert.ok(
    !findings.some(
      (f) => f.kind === 'starved-feature' && (f.trialId === 'B' || f.trialId === 'B1'),
    ),
    'nothing about the knocked-out trials',
  );
  const summary = ofKind(findings, 'counterfactual-summary').find(
    (f) => f.evidence.strengthWith === 1 && f.evidence.knockout === 1,
  )!;
  assert.equal(summary.evidence.pairs, 2);
  assert.ok(Math.abs(summary.evidence.meanRatio! - 0.25) < 1e-12);
  assert.equal(summary.evidence.spectralDecoupling, 0);
  assert.equal(summary.severity, 'warning');
});

test('responses too small in the weaker trial, uninformative features and other differences are not compared', async () => {
  const findings = await run([
    [
      featureTrial('A', [[1, 1], [0.2, 1], { frequency: 0.5, norm: 1, informative: false }]),
      [5, 0.6, 0.3],
    ],
    [
      featureTrial('B', [
        { frequency: 1, norm: 1, knockedOut: true },
        [0.2, 1],
        { frequency: 0.5, norm: 1, informative: false },
      ]),
      [0.1, 0.0001, 0.5],
    ],
    [
      featureTrial('C', [[1, 1], [0.2, 1], { frequency: 0.5, norm: 1, informative: false }], {
        optimizer: { learningRate: 0.2 },
      }),
      [5, 0.6, 0.3],
    ],
  ]);
  assert.deepEqual(findings, []);
});
