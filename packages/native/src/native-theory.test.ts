/**
 * The engine's closed forms (`theory` of @dynlab/engine) on the native backend, through the
 * engine's runner: one mode of f = a relu(w x), input norm r carried by a fraction p of n = 8
 * samples (all labels +1), balanced start a0 = w0 = sqrt(f0 / r). Gradient descent with a small
 * learning rate tracks the gradient flow within 3%, the learning time scales as 1/(p r), a start
 * with a0 <= -w0 stays at exactly ln 2, and hinge stops at the margin with loss (1 - p) exactly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrial } from '@dynlab/spec';
import { runPopulation, theory } from '@dynlab/engine';

const n = 8;
const f0 = 0.01;

function mode(
  p: number,
  r: number,
  loss: 'logistic' | 'hinge',
  lr: number,
  steps: number,
  every: number,
  start?: { a0: number; w0: number },
) {
  const eps = Math.sqrt(f0 / r);
  return compileTrial({
    data: {
      inline: {
        n,
        dim: 1,
        x: Array.from({ length: n }, (_, i) => (i < Math.round(p * n) ? r : 0)),
        y: Array<1>(n).fill(1),
      },
    },
    model: { kind: 'relu', hidden: [1] },
    init: {
      layers: [
        { layer: 0, weights: [start?.w0 ?? eps] },
        { layer: 1, weights: [start?.a0 ?? eps] },
      ],
    },
    loss: { kind: loss },
    optimizer: { learningRate: lr },
    steps,
    record: { every, quantities: ['loss', 'probeOutputs'], probes: [{ x: [r] }] },
  });
}

/** Flow time at which the recorded output first reaches `level` (log-linear between records). */
function reaches(steps: number[], f: number[], level: number, lr: number): number {
  const k = f.findIndex((v) => v >= level);
  assert.ok(k > 0, `the output never reached ${level}`);
  const [a, b] = [Math.log(f[k - 1]!), Math.log(f[k]!)];
  return lr * (steps[k - 1]! + ((steps[k]! - steps[k - 1]!) * (Math.log(level) - a)) / (b - a));
}

test('native, logistic: GD tracks the flow ln(f/f0) + Ei(f) - Ei(f0) = 2 p r t; learning time ~ 1/(p r); a bad start stays at ln 2', async () => {
  const lr = 0.02;
  const modes = [
    [0.5, 1],
    [0.25, 1],
    [0.5, 2],
    [0.25, 2],
  ] as const;
  const eps = Math.sqrt(f0);
  const trials = [
    ...modes.map(([p, r]) => mode(p, r, 'logistic', lr, 1400, 5)),
    mode(0.5, 1, 'logistic', lr, 1400, 5, { a0: -2 * eps, w0: eps }),
  ];
  const result = await runPopulation(trials, { backend: 'native' });
  assert.equal(result.backend.name, 'native');
  const scaled = modes.map(([p, r], i) => {
    const t = result.telemetry![i]!;
    const m = { p, r, f0 };
    t.steps.forEach((s, k) => {
      const flow = theory.logisticModeOutput(lr * s, m);
      assert.ok(
        Math.abs(t.probeOutputs[k]! / flow - 1) < 0.03,
        `p=${p} r=${r} step ${s}: f = ${t.probeOutputs[k]}, flow ${flow}`,
      );
    });
    const time = reaches(t.steps, t.probeOutputs, 1, lr);
    assert.ok(
      Math.abs(time / theory.logisticModeTime(1, m) - 1) < 0.03,
      `learning time ${time} vs ${theory.logisticModeTime(1, m)}`,
    );
    return time * p * r;
  });
  scaled.forEach((pt) =>
    assert.ok(Math.abs(pt / scaled[0]! - 1) < 0.03, `t* p r = ${scaled.join(', ')}`),
  );
  const stuck = result.telemetry![4]!;
  assert.equal(stuck.probeOutputs[stuck.probeOutputs.length - 1], 0);
  assert.equal(result.outcomes[4]!.finalLoss, Math.fround(Math.LN2));
});

test('native, hinge: GD tracks f0 e^{2 p r t} and stops at the margin', async () => {
  const lr = 0.01;
  const result = await runPopulation([mode(0.5, 1, 'hinge', lr, 700, 10)], { backend: 'native' });
  const t = result.telemetry![0]!;
  t.steps.forEach((s, k) => {
    const flow = theory.hingeModeOutput(lr * s, { p: 0.5, r: 1, f0 });
    if (flow < 1)
      assert.ok(
        Math.abs(t.probeOutputs[k]! / flow - 1) < 0.03,
        `step ${s}: f = ${t.probeOutputs[k]}, flow ${flow}`,
      );
  });
  const tail = t.probeOutputs.slice(-10);
  assert.ok(
    tail.every((f) => f === tail[0] && f >= 1 && f < 1.02),
    `after the margin: ${tail.join(', ')}`,
  );
  assert.equal(t.loss[t.loss.length - 1], Math.fround(0.5));
});
