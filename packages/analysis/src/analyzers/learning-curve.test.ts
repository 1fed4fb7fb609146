import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrial } from '@dynlab/spec';
import { closedFormCase } from '../closed-form-case';
import { sigmoidAt } from '../fit-sigmoid';
import {
  collectingHost,
  hingeMode,
  logSteps,
  modeFlow,
  ofKind,
  okOutcome,
  responseSeries,
  seriesOf,
  featureTrial,
} from '../test-support';
import { createLearningCurveAnalyzer, learningCurveAnalyzer } from './learning-curve';

const steps = logSteps(10_000, 80);

test('a sigmoidal error curve: learning time, width, plateau and R^2', async () => {
  const { host, findings } = collectingHost([{ definition: learningCurveAnalyzer }]);
  const truth = { start: 0.5, end: 0, center: Math.log(300), width: 0.3 };
  const t = featureTrial('t', [[1, 1]]);
  await host.chunk(
    's',
    t,
    seriesOf(steps.map((s) => ({ step: s, error: s === 0 ? 0.5 : sigmoidAt(truth, Math.log(s)) }))),
  );
  await host.trialEnd('s', t, okOutcome());
  const [f] = ofKind(findings, 'learning-curve');
  const e = f!.evidence;
  assert.ok(Math.abs(e.learningStep! / 300 - 1) < 1e-3, String(e.learningStep));
  assert.ok(Math.abs(e.learningTime! / 30 - 1) < 1e-3, 'lr 0.1: t = 0.1 * step');
  assert.ok(Math.abs(e.width! / 0.3 - 1) < 1e-3);
  assert.ok(Math.abs(e.plateauSteps! / (300 * 9 ** -0.3) - 1) < 2e-3);
  assert.ok(Math.abs(e.riseDecades! - (0.6 * Math.log(9)) / Math.LN10) < 1e-3);
  assert.equal(e.sigmoidal, 1);
  assert.equal(e.complete, 1);
  assert.equal(e.signal, 0);
  assert.equal(ofKind(findings, 'non-sigmoidal').length, 0);
});

test('a response that rises and falls again is flagged as not sigmoidal; a flat error is not fitted', async () => {
  const { host, findings } = collectingHost([{ definition: learningCurveAnalyzer }]);
  const t = featureTrial('t', [[1, 1]]);
  await host.chunk(
    's',
    t,
    responseSeries(steps, 0.1, [(tt) => Math.exp(-((Math.log(tt + 1e-9) - 3) ** 2))], {
      error: () => 0.25,
    }),
  );
  await host.trialEnd('s', t, okOutcome());
  assert.deepEqual(
    findings.map((f) => f.kind),
    ['learning-curve', 'non-sigmoidal'],
  );
  assert.equal(findings[1]!.evidence.probe, 0);
  assert.equal(findings[1]!.evidence.feature, 0);
  assert.ok(findings[1]!.evidence.r2! < 0.95);
  assert.equal(findings[1]!.severity, 'warning');
});

const modeTrial = (loss: 'hinge' | 'logistic', extra: Record<string, unknown> = {}) =>
  compileTrial({
    id: 'mode',
    data: { features: { n: 100, features: [{ frequency: 1, norm: 2 }] } },
    model: { kind: 'relu', hidden: [1] },
    init: {
      layers: [
        { layer: 0, weights: [0.1] },
        { layer: 1, weights: [0.1] },
      ],
    },
    loss: { kind: loss },
    optimizer: { kind: 'gd', learningRate: 0.01 },
    steps: 10_000,
    record: { probes: [{ x: [1] }] },
    ...extra,
  });

test("closed-form cases are recognized with the engine data model's carried fraction", () => {
  const c = closedFormCase(modeTrial('hinge'))!;
  assert.deepEqual(c, {
    loss: 'hinge',
    margin: 1,
    mode: { p: 0.5, r: 2, f0: 2 * 0.1 * 0.1 },
    probe: 0,
  });
  assert.equal(
    closedFormCase(
      modeTrial('hinge', {
        init: {
          layers: [
            { layer: 0, weights: [0.1] },
            { layer: 1, weights: [0.2] },
          ],
        },
      }),
    ),
    undefined,
    'unbalanced start',
  );
  assert.equal(closedFormCase(modeTrial('hinge', { optimizer: { kind: 'adam' } })), undefined);
  assert.equal(
    closedFormCase(modeTrial('hinge', { regularizer: { spectralDecoupling: 0.1 } })),
    undefined,
  );
  assert.equal(
    closedFormCase(
      modeTrial('hinge', {
        model: { kind: 'relu', hidden: [2] },
        init: {
          layers: [
            { layer: 0, weights: [0.1, 0.1] },
            { layer: 1, weights: [0.1, 0.1] },
          ],
        },
      }),
    ),
    undefined,
  );
  const inline = compileTrial({
    data: { inline: { n: 4, dim: 1, x: [3, 3, 0, 0], y: [1, 1, -1, 1] } },
    model: { kind: 'relu', hidden: [1] },
    init: {
      layers: [
        { layer: 0, weights: [0.2] },
        { layer: 1, weights: [0.2] },
      ],
    },
    record: { probes: [{ x: [1] }] },
  });
  assert.deepEqual(closedFormCase(inline)?.mode, { p: 0.5, r: 3, f0: 3 * 0.2 * 0.2 });
});

test('with a theory injected, a mode on the closed form agrees and a perturbed one departs', async () => {
  const theory = {
    hingeModeOutput: (t: number, m: { p: number; r: number; f0: number }, margin = 1) =>
      hingeMode(m.p, m.r, m.f0, margin)(t),
    logisticModeOutput: (t: number, m: { p: number; r: number; f0: number }) =>
      modeFlow('logistic', m.p, m.r, m.f0, [t])[0]!,
  };
  const analyzer = createLearningCurveAnalyzer({ theory });
  for (const [loss, scale, severity] of [
    ['hinge', 1, 'info'],
    ['logistic', 1, 'info'],
    ['hinge', 1.3, 'warning'],
  ] as const) {
    const { host, findings } = collectingHost([{ definition: analyzer }]);
    const t = modeTrial(loss);
    const lr = t.optimizer.learningRate;
    const truth = modeFlow(
      loss,
      0.5,
      2,
      0.02,
      steps.map((s) => lr * s),
    );
    await host.chunk(
      's',
      t,
      seriesOf(steps.map((s, i) => ({ step: s, probes: [(scale * truth[i]!) / 2] }))),
    );
    await host.trialEnd('s', t, okOutcome());
    const [c] = ofKind(findings, 'theory-comparison');
    assert.equal(c!.severity, severity, `${loss} x${scale}: ${JSON.stringify(c!.evidence)}`);
    if (scale === 1)
      assert.ok(c!.evidence.maxDeviation! < 1e-3, `${loss}: ${c!.evidence.maxDeviation}`);
    else assert.ok(Math.abs(c!.evidence.maxDeviation! - 0.3) < 1e-3);
    if (scale === 1)
      assert.ok(Math.abs(c!.evidence.observedStep! / c!.evidence.theoryStep! - 1) < 1e-3);
  }
});
