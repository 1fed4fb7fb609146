/**
 * The native backend against the float64 reference (`@dynlab/reference`) on every model x loss x
 * regularizer x optimizer, each as a population of three trials (two sharing their data, so they
 * fold into one GEMM, one with its own data, different learning rates and coefficients), recorded
 * at steps 0, 1, 50 and 200. Tolerances, float32 against float64:
 * - loss: 1e-5 relative at every step, with an absolute floor of 1e-6 (1e-5 x 0.1: a loss near
 *   zero is a mean of a few per-sample terms of order one, resolved to ~1e-7 in float32 and
 *   drifting by ~1e-6 over 200 steps);
 * - outputs on probes and training points, parameter norms: 2e-5 of the quantity's scale (its
 *   largest magnitude in the trial) up to step 50, 2e-4 at step 200 (float32 drift over 200
 *   steps, which Adam's normalisation amplifies);
 * - gradient shares: 2e-5 times how many times smaller dJ/dW1 is than at step 0 (the float32
 *   gradient carries an absolute error of the size of the early gradients' roundings, so its
 *   direction loses precision as it shrinks towards convergence);
 * - error and dead-unit fractions: exact.
 * Two families are ill-conditioned and compared up to step 50 only (then only for divergence):
 * - hinge loss with spectral decoupling: the penalty pulls the outputs back onto the hinge's kink
 *   (y f = margin), the loss oscillates there, and rounding decides which side a sample lands on,
 *   so float32 and float64 part after ~120 steps;
 * - Adam with a small epsilon (the default 1e-8): near a stationary point (converged, or the data
 *   gradient balanced by weight decay) a parameter's gradient cancels to ~1e-9, and Adam steps it
 *   by lr * g / (|g| + eps), i.e. by the sign of float32's rounding noise; float32 parts from float64
 *   by ~1e-4 within 200 steps, while with epsilon 1e-4 they agree to ~4e-7 (measured on this
 *   matrix's deep ReLU case; float64 runs perturbed by 3e-8 stay within 1e-8).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrial, type CompiledTrial, type TrialInput } from '@dynlab/spec';
import { runReference } from '@dynlab/reference';
import { createNativeProgram, type NativeData, type NativeMeasurement } from './index';
import { fixtureData, fixtureParams } from './test-fixtures';

const n = 24;
const dim = 3;

const models = {
  linear: { kind: 'linear', bias: true },
  deepLinear: { kind: 'deepLinear', hidden: [4, 3] as number[], bias: false },
  relu: { kind: 'relu', hidden: [6] as number[], bias: true },
  deepRelu: { kind: 'relu', hidden: [5, 4] as number[], bias: true, biasTrainable: [true, false, true] as boolean[] },
} as const;
const regularizers = { none: {}, weightDecay: { weightDecay: 0.01 }, spectral: { spectralDecoupling: 0.02 } } as const;
const optimizers = {
  gd: { kind: 'gd', learningRate: 0.1 },
  sgd: { kind: 'sgd', learningRate: 0.05, batchSize: 8 },
  momentum: { kind: 'momentum', learningRate: 0.02, momentum: 0.9 },
  adam: { kind: 'adam', learningRate: 0.005, epsilon: 1e-4 },
  adamSmallEpsilon: { kind: 'adam', learningRate: 0.005, epsilon: 1e-8 },
} as const;

const recordAt = [0, 1, 50, 200];

function scaleOf(values: ArrayLike<number>): number {
  let m = 1e-3;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

function close(what: string, got: ArrayLike<number>, want: readonly number[], rel: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const scale = scaleOf(want);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i]! - want[i]!) <= rel * scale, `${what}[${i}]: native ${got[i]} vs reference ${want[i]} (scale ${scale})`);
}

interface Bounds {
  loss: number;
  values: number;
  share: number;
}

function bounds(step: number, illConditioned: boolean): Bounds | undefined {
  if (step <= 50) return { loss: 1e-5, values: 2e-5, share: 2e-5 };
  return illConditioned ? undefined : { loss: 1e-5, values: 2e-4, share: 2e-5 };
}

/** Runs a population on native and each trial on the reference, and compares them. */
function compare(label: string, inputs: TrialInput[], datas: NativeData[]): void {
  const trials = inputs.map((t) => compileTrial(t));
  const params = trials.map((t, p) => fixtureParams(t, 100 + p));
  const program = createNativeProgram(trials, datas, params);
  const seen: NativeMeasurement[] = [];
  for (const s of recordAt) {
    program.advance(s - program.stepsDone);
    seen.push(program.measure());
  }
  program.dispose();
  trials.forEach((t, p) => {
    const ref = runReference(t, datas[p]!, params[p]!, recordAt);
    const illConditioned = (t.loss.kind === 'hinge' && t.regularizer.spectralDecoupling > 0) || (t.optimizer.kind === 'adam' && t.optimizer.epsilon < 1e-4);
    recordAt.forEach((s, k) => {
      const m = seen[k]!;
      const r = ref[k]!;
      const at = `${label} trial ${p} step ${s}`;
      const b = bounds(s, illConditioned);
      assert.equal(m.step, s);
      assert.equal(m.divergedAt[p], -1, `${at}: diverged`);
      if (!b) return;
      const loss = m.loss[p]!;
      assert.ok(Math.abs(loss - r.loss) <= b.loss * Math.max(Math.abs(r.loss), 0.1), `${at}: loss ${loss} vs ${r.loss}`);
      assert.equal(m.error[p], Math.fround(r.error), `${at}: error`);
      const row = (a: Float32Array, width: number) => a.subarray(p * width, (p + 1) * width);
      const shrink = Math.max(1, ref[0]!.firstLayerGradNorm / r.firstLayerGradNorm);
      close(`${at} gradShare (gradient ${shrink.toExponential(1)}x smaller than at step 0)`, row(m.gradShare, dim), r.gradShare, b.share * shrink);
      close(`${at} probeOutputs`, row(m.probeOutputs, 2), r.probeOutputs, b.values);
      close(`${at} trainOutputs`, row(m.trainOutputs, n), r.trainOutputs, b.values);
      close(`${at} paramNorms`, row(m.paramNorms, t.widths.length - 1), r.paramNorms, b.values);
      const hidden = t.widths.length - 2;
      if (t.model.kind === 'relu') assert.deepEqual(Array.from(row(m.deadUnits, hidden)), r.deadUnits.map(Math.fround), `${at} deadUnits`);
      else assert.equal(m.deadUnits.length, 0);
    });
  });
}

const quantities = ['loss', 'error', 'gradShare', 'probeOutputs', 'trainOutputs', 'paramNorms', 'deadUnits'] as const;
const shared = fixtureData(1, n, dim);
const own = fixtureData(2, n, dim);

for (const [modelName, model] of Object.entries(models))
  for (const loss of ['logistic', 'hinge', 'squared'] as const)
    test(`native = float64 reference: ${modelName}, ${loss}, every regularizer and optimizer`, () => {
      for (const [regName, regularizer] of Object.entries(regularizers))
        for (const [optName, optimizer] of Object.entries(optimizers)) {
          const base = {
            data: { inline: { n, dim, x: [...shared.x], y: [...shared.y] as (1 | -1)[] } },
            model,
            loss: { kind: loss, margin: 1, reduction: optName === 'momentum' ? ('sum' as const) : ('mean' as const) },
            optimizer: optName === 'momentum' ? { ...optimizer, learningRate: optimizer.learningRate / n } : optimizer,
            regularizer,
            steps: 200,
            record: { quantities: [...quantities], probes: [{ x: [1, 0, 0] }, { x: [0.5, -1, 0.25] }] },
          } satisfies TrialInput;
          const inputs: TrialInput[] = [
            { ...base, seed: 11 },
            { ...base, seed: 12, optimizer: { ...base.optimizer, learningRate: base.optimizer.learningRate * 0.5 } },
            { ...base, seed: 13, data: { inline: { n, dim, x: [...own.x], y: [...own.y] as (1 | -1)[] } } },
          ];
          compare(`${modelName}/${loss}/${regName}/${optName}`, inputs, [shared, shared, own]);
        }
    });
