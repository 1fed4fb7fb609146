/**
 * The engine against the closed forms of `theory.ts`: one mode of f = a relu(w x) on an input of
 * norm r carried by a fraction p of the samples (inline data, every label +1, balanced start
 * a0 = w0 = eps). Gradient descent with a small learning rate must track the gradient flow within a
 * few percent, learning time must scale as 1/(p r), hinge must stop at the margin, and a bad start
 * must never learn the mode.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from './backend';
import { runPopulation } from './run-population';
import { hingeModeOutput, logisticModeOutput, logisticModeTime } from './theory';
import { makeTrial } from './test-support';

const n = 8;
const f0 = 0.01;

function modeTrial(
  p: number,
  r: number,
  opts: {
    loss?: 'logistic' | 'hinge';
    lr: number;
    steps: number;
    every: number;
    a0?: number;
    w0?: number;
  },
) {
  const carriers = Math.round(p * n);
  const eps = Math.sqrt(f0 / r);
  return makeTrial({
    data: {
      inline: {
        n,
        dim: 1,
        x: Array.from({ length: n }, (_, i) => (i < carriers ? r : 0)),
        y: Array<1>(n).fill(1),
      },
    },
    model: { kind: 'relu', hidden: [1] },
    init: {
      layers: [
        { layer: 0, weights: [opts.w0 ?? eps] },
        { layer: 1, weights: [opts.a0 ?? eps] },
      ],
    },
    loss: { kind: opts.loss ?? 'logistic' },
    optimizer: { learningRate: opts.lr },
    steps: opts.steps,
    record: { every: opts.every, quantities: ['loss', 'probeOutputs'], probes: [{ x: [r] }] },
  });
}

/** Gradient-flow time at which the recorded output first reaches `level` (log-linear interpolation). */
function crossing(steps: number[], f: number[], level: number, lr: number): number {
  const k = f.findIndex((v) => v >= level);
  assert.ok(k > 0, `the output never reached ${level}`);
  const a = Math.log(f[k - 1]!);
  const b = Math.log(f[k]!);
  return lr * (steps[k - 1]! + ((steps[k]! - steps[k - 1]!) * (Math.log(level) - a)) / (b - a));
}

describe('engine vs closed forms', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('logistic: GD tracks ln(f/f0) + Ei(f) - Ei(f0) = 2 p r t, learning time scales as 1/(p r), a bad start never learns', async () => {
    const lr = 0.02;
    const modes = [
      { p: 0.5, r: 1 },
      { p: 0.25, r: 1 },
      { p: 0.5, r: 2 },
      { p: 0.25, r: 2 },
    ];
    const opts = { lr, steps: 1400, every: 5 };
    const eps = Math.sqrt(f0);
    const trials = [
      ...modes.map((m) => modeTrial(m.p, m.r, opts)),
      modeTrial(0.5, 1, { ...opts, a0: -2 * eps, w0: eps }),
    ];
    const r = await runPopulation(trials, { backend: 'wasm' });
    const times: number[] = [];
    modes.forEach((m, i) => {
      const t = r.telemetry![i]!;
      const mode = { p: Math.round(m.p * n) / n, r: m.r, f0 };
      t.steps.forEach((s, k) => {
        const want = logisticModeOutput(lr * s, mode);
        const got = t.probeOutputs[k]!;
        assert.ok(
          Math.abs(got / want - 1) < 0.03,
          `p=${m.p} r=${m.r} step ${s}: f = ${got}, flow ${want}`,
        );
      });
      const tStar = crossing(t.steps, t.probeOutputs, 1, lr);
      assert.ok(
        Math.abs(tStar / logisticModeTime(1, mode) - 1) < 0.03,
        `learning time ${tStar} vs ${logisticModeTime(1, mode)}`,
      );
      times.push(tStar * m.p * m.r);
    });
    for (const pt of times)
      assert.ok(Math.abs(pt / times[0]! - 1) < 0.03, `t* p r = ${times.join(', ')}`);
    const stuck = r.telemetry![4]!;
    assert.equal(stuck.probeOutputs[stuck.probeOutputs.length - 1], 0);
    assert.equal(r.outcomes[4]!.finalLoss, Math.fround(Math.LN2));
  });

  it('hinge: GD tracks f0 e^{2 p r t} and stops at the margin', async () => {
    const lr = 0.01;
    const trial = modeTrial(0.5, 1, { loss: 'hinge', lr, steps: 700, every: 10 });
    const t = (await runPopulation([trial], { backend: 'wasm' })).telemetry![0]!;
    const mode = { p: 0.5, r: 1, f0 };
    t.steps.forEach((s, k) => {
      const want = hingeModeOutput(lr * s, mode);
      const got = t.probeOutputs[k]!;
      if (want < 1)
        assert.ok(Math.abs(got / want - 1) < 0.03, `step ${s}: f = ${got}, flow ${want}`);
    });
    const tail = t.probeOutputs.slice(-10);
    assert.ok(
      tail.every((f) => f === tail[0] && f >= 1 && f < 1.02),
      `after the margin: ${tail.join(', ')}`,
    );
    assert.equal(t.loss[t.loss.length - 1], Math.fround((1 - 0.5) * 1));
  });
});
