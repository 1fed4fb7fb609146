import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  collectingHost,
  featureTrial,
  logSteps,
  modeFlow,
  ofKind,
  okOutcome,
  seriesOf,
} from '../test-support';
import { hingeStop, lossComparisonAnalyzer } from './loss-comparison';

const steps = logSteps(100_000, 150);

test('cross-entropy vs hinge on the closed form: time ratio, hinge stops at its margin, cross-entropy keeps growing', async () => {
  const { host, findings } = collectingHost([{ definition: lossComparisonAnalyzer }]);
  // p = 0.5 (the engine carries half the samples on the positive side), r = 1, f0 = 1e-3, t = 0.01 * step.
  for (const loss of ['logistic', 'hinge'] as const) {
    const t = featureTrial(loss, [[1, 1]], {
      loss: { kind: loss },
      optimizer: { learningRate: 0.01 },
    });
    const f = modeFlow(
      loss,
      0.5,
      1,
      1e-3,
      steps.map((s) => 0.01 * s),
    );
    await host.chunk('s', t, seriesOf(steps.map((s, i) => ({ step: s, probes: [f[i]!] }))));
    await host.trialEnd('s', t, okOutcome());
  }
  const lone = featureTrial('lone', [[1, 2]], { loss: { kind: 'hinge' } });
  await host.chunk('s', lone, seriesOf(steps.map((s) => ({ step: s, probes: [0.5] }))));
  await host.trialEnd('s', lone, okOutcome());
  await host.sweepEnd('s');
  const [pair] = ofKind(findings, 'loss-comparison');
  assert.deepEqual(pair!.relatedTrials, ['logistic', 'hinge']);
  const e = pair!.evidence;
  // Closed forms: t_hinge = ln(0.5 / f0) / (2 p r); t_ce = t_hinge + (Ei(0.5) - Ei(f0)) / (2 p r).
  const tH = Math.log(500),
    tC = tH + 0.45421990486317354 - -6.329539364025038;
  assert.ok(Math.abs(e.timeRatio! / (tC / tH) - 1) < 0.01, `${e.timeRatio} vs ${tC / tH}`);
  assert.equal(e.hingeStopped, 1);
  assert.ok(Math.abs(e.hingeFinal! - 1) < 1e-9);
  assert.ok(
    Math.abs(e.hingeStopStep! / (100 * Math.log(1000 / 0.95)) - 1) < 0.05,
    String(e.hingeStopStep),
  );
  // f grows like ln t (times 1 / (1 - 1/f) while f is small): about 1 to 2 per unit of ln(step) here.
  assert.ok(e.ceGrowthPerLogStep! > 1 && e.ceGrowthPerLogStep! < 2.5, String(e.ceGrowthPerLogStep));
  assert.ok(e.ceFinal! > 3);
  const [summary] = ofKind(findings, 'loss-comparison-summary');
  assert.deepEqual([summary!.evidence.pairs, summary!.evidence.hingeStoppedFraction], [1, 1]);
  assert.ok(Math.abs(summary!.evidence.medianTimeRatio! - e.timeRatio!) < 1e-12);
});

test('hinge has not stopped when it overshoots or never reaches the margin', () => {
  assert.deepEqual(hingeStop([1, 2, 3], [0.5, 1, 1.2], 1, 0.05), {
    stopped: false,
    stopStep: 2,
    final: 1.2,
  });
  assert.deepEqual(hingeStop([1, 2, 3], [0.5, 0.8, 0.9], 1, 0.05), { stopped: false, final: 0.9 });
  assert.deepEqual(hingeStop([1, 2, 3], [0.5, 0.96, 1], 1, 0.05), {
    stopped: true,
    stopStep: 2,
    final: 1,
  });
});
