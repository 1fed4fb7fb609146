import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrial } from '@dynlab/spec';
import { collectingHost, featureTrial, ofKind, okOutcome, seriesOf } from '../test-support';
import { chanceLoss, failedTrainingAnalyzer } from './failed-training';

test('chance loss is the loss of the zero output', () => {
  const base = {
    data: { features: { n: 50, features: [{}] } },
    model: { kind: 'linear' as const },
  };
  assert.equal(chanceLoss(compileTrial(base)), Math.LN2);
  assert.equal(chanceLoss(compileTrial({ ...base, loss: { kind: 'hinge', margin: 2 } })), 2);
  assert.equal(chanceLoss(compileTrial({ ...base, loss: { kind: 'squared' } })), 0.5);
  assert.equal(
    chanceLoss(compileTrial({ ...base, loss: { kind: 'logistic', reduction: 'sum' } })),
    50 * Math.LN2,
  );
});

const cell = (id: string, w: number, a: number, seed = 0) =>
  featureTrial(id, [[1, 1]], {
    seed,
    params: {
      'init.layers[0].weights': JSON.stringify([w]),
      'init.layers[1].weights': JSON.stringify([a]),
      seed: String(seed),
    },
  });
const learned = seriesOf([
  { step: 0, loss: 0.69, deadUnits: [0] },
  { step: 10, loss: 0.5, deadUnits: [0] },
  { step: 100, loss: 0.35, deadUnits: [0] },
]);
const stuck = seriesOf([
  { step: 0, loss: 0.8, deadUnits: [0] },
  { step: 10, loss: 0.72, deadUnits: [0.5] },
  { step: 100, loss: 0.6935, deadUnits: [1] },
]);

test('stuck and diverged trials are flagged, and the phase map reports every cell as data', async () => {
  const { host, findings } = collectingHost([{ definition: failedTrainingAnalyzer }]);
  const runs: [ReturnType<typeof cell>, typeof learned, 'ok' | 'diverged'][] = [
    [cell('a', 0.5, 0.5), learned, 'ok'],
    [cell('a1', 0.5, 0.5, 1), learned, 'ok'],
    [cell('b', -0.5, 0.5), stuck, 'ok'],
    [cell('b1', -0.5, 0.5, 1), stuck, 'ok'],
    [cell('c', 0.5, -0.7), stuck, 'ok'],
    [cell('c1', 0.5, -0.7, 1), learned, 'diverged'],
  ];
  for (const [t, s, status] of runs) {
    await host.chunk('sw', t, s);
    await host.trialEnd('sw', t, okOutcome({ status, stepsDone: 100 }));
  }
  await host.sweepEnd('sw');
  const stuckF = ofKind(findings, 'stuck-at-chance');
  assert.deepEqual(
    stuckF.map((f) => f.trialId),
    ['b', 'b1', 'c'],
  );
  assert.equal(stuckF[0]!.evidence.deadUnits, 1);
  assert.ok(Math.abs(stuckF[0]!.evidence.finalLoss! - 0.6935) < 1e-12);
  assert.deepEqual(
    ofKind(findings, 'diverged').map((f) => f.trialId),
    ['c1'],
  );
  const cells = ofKind(findings, 'phase-cell').map((f) => [
    f.evidence['init.layers[0].weights[0]'],
    f.evidence['init.layers[1].weights[0]'],
    f.evidence.trials,
    f.evidence.learned,
    f.evidence.learnedFraction,
  ]);
  assert.deepEqual(cells, [
    [0.5, 0.5, 2, 2, 1],
    [-0.5, 0.5, 2, 0, 0],
    [0.5, -0.7, 2, 0, 0],
  ]);
  const [map] = ofKind(findings, 'phase-map');
  assert.deepEqual(map!.evidence, {
    cells: 3,
    learnedCells: 1,
    failedCells: 2,
    mixedCells: 0,
    trials: 6,
    axes: 2,
  });
  assert.equal(map!.severity, 'warning');
});

test("without init axes there is no phase map, and only the sweep's own findings", async () => {
  const { host, findings } = collectingHost([{ definition: failedTrainingAnalyzer }]);
  const t = featureTrial('x', [[1, 1]]);
  await host.chunk('sw', t, learned);
  await host.trialEnd('sw', t, okOutcome());
  await host.sweepEnd('sw');
  assert.deepEqual(findings, []);
});
