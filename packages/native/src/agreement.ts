/**
 * How closely a float32 backend must agree with the float64 reference, for the cross-backend tests
 * (native against the reference, and the engine's wasm backend against the same reference).
 *
 * Tolerances, float32 against float64, at the recorded steps 0, 1, 50 and 200:
 * - loss: 1e-5 relative at every step, with an absolute floor of 1e-6 per sample of the reduction
 *   (1e-5 x 0.1, times n for a sum: a loss near zero is a mean of a few per-sample terms of order
 *   one, resolved to ~1e-7 in float32 and drifting by ~1e-6 over 200 steps, most where samples
 *   sit on the hinge's margin);
 * - outputs on probes and training points, parameter norms: 2e-5 of the quantity's scale (its
 *   largest magnitude in the trial) up to step 50, 2e-4 at step 200 (float32 drift over 200
 *   steps, which Adam's normalisation amplifies);
 * - gradient shares: 2e-5 times how many times smaller dJ/dW1 is than at step 0 (the float32
 *   gradient carries an absolute error of the size of the early gradients' roundings, so its
 *   direction loses precision as it shrinks towards convergence);
 * - error and dead-unit fractions: exact.
 * Two families are ill-conditioned and compared up to step 50 only (later, only for divergence):
 * - hinge loss with spectral decoupling: the penalty pulls the outputs back onto the hinge's kink
 *   (y f = margin), the loss oscillates there, and rounding decides which side a sample lands on,
 *   so float32 and float64 part after ~120 steps;
 * - Adam with a small epsilon (the default 1e-8): near a stationary point (converged, or the data
 *   gradient balanced by weight decay) a parameter's gradient cancels to ~1e-9, and Adam steps it
 *   by lr * g / (|g| + eps), i.e. by the sign of float32's rounding noise; float32 parts from float64
 *   by ~1e-4 within 200 steps, while with epsilon 1e-4 they agree to ~4e-7 (measured on the deep
 *   ReLU case of the matrix; float64 runs perturbed by 3e-8 stay within 1e-8).
 */
import assert from 'node:assert/strict';
import {
  compileTrial,
  quantities,
  type CompiledTrial,
  type Quantity,
  type TrialInput,
} from '@dynlab/spec';
import { runReference, type ReferenceMeasurement } from '@dynlab/reference';
import { createNativeProgram } from './native-program';
import type { NativeData, NativeMeasurement } from './program-types';
import { fixtureParams } from './test-fixtures';

/** One trial's recorded values at one step, from any backend. */
export interface TrialValues {
  loss: number;
  error: number;
  gradShare: ArrayLike<number>;
  probeOutputs: ArrayLike<number>;
  trainOutputs: ArrayLike<number>;
  paramNorms: ArrayLike<number>;
  deadUnits: ArrayLike<number>;
}

/** The models of the cross-backend matrix: every kind, with and without biases, a frozen bias. */
export const matrixModels = {
  linear: { kind: 'linear', bias: true },
  deepLinear: { kind: 'deepLinear', hidden: [4, 3] as number[], bias: false },
  relu: { kind: 'relu', hidden: [6] as number[], bias: true },
  deepRelu: {
    kind: 'relu',
    hidden: [5, 4] as number[],
    bias: true,
    biasTrainable: [true, false, true] as boolean[],
  },
} as const;
/** The regularizers of the matrix. */
export const matrixRegularizers = {
  none: {},
  weightDecay: { weightDecay: 0.01 },
  spectral: { spectralDecoupling: 0.02 },
} as const;
/** The optimizers of the matrix (Adam twice: a well-conditioned epsilon and the default one). */
export const matrixOptimizers = {
  gd: { kind: 'gd', learningRate: 0.1 },
  sgd: { kind: 'sgd', learningRate: 0.05, batchSize: 8 },
  momentum: { kind: 'momentum', learningRate: 0.02, momentum: 0.9 },
  adam: { kind: 'adam', learningRate: 0.005, epsilon: 1e-4 },
  adamSmallEpsilon: { kind: 'adam', learningRate: 0.005, epsilon: 1e-8 },
} as const;

/**
 * One cell of the matrix as a trial spec (200 steps, every quantity, two probes of dimension 3).
 * Momentum runs with the sum reduction (and a learning rate divided by n), so both reductions are
 * covered.
 */
export function matrixTrial(
  data: TrialInput['data'],
  n: number,
  model: TrialInput['model'],
  loss: 'logistic' | 'hinge' | 'squared',
  regularizer: TrialInput['regularizer'],
  optimizer: { kind: string; learningRate: number },
): TrialInput {
  const sum = optimizer.kind === 'momentum';
  return {
    data,
    model,
    loss: { kind: loss, margin: 1, reduction: sum ? 'sum' : 'mean' },
    optimizer: {
      ...optimizer,
      learningRate: sum ? optimizer.learningRate / n : optimizer.learningRate,
    } as TrialInput['optimizer'],
    regularizer,
    steps: 200,
    record: {
      steps: agreementSteps,
      quantities: [...quantities],
      probes: [{ x: [1, 0, 0] }, { x: [0.5, -1, 0.25] }],
    },
  };
}

/** Columns of recorded quantities, one row per trial (a measurement) or per step (telemetry). */
export type QuantityColumns = Record<Quantity, ArrayLike<number>>;

/** Row `row` of every quantity of `c`, with the widths trial `t` gives them. */
export function rowValues(c: QuantityColumns, row: number, t: CompiledTrial): TrialValues {
  const L = t.widths.length - 1;
  const slice = (a: ArrayLike<number>, width: number) =>
    Array.from({ length: width }, (_, i) => a[row * width + i]!);
  return {
    loss: c.loss[row]!,
    error: c.error[row]!,
    gradShare: slice(c.gradShare, t.inputDim),
    probeOutputs: slice(c.probeOutputs, t.record.probes.length),
    trainOutputs: slice(c.trainOutputs, t.data.n),
    paramNorms: slice(c.paramNorms, L),
    deadUnits: slice(c.deadUnits, t.model.kind === 'relu' ? L - 1 : 0),
  };
}

/** The steps the cross-backend tests record. */
export const agreementSteps = [0, 1, 50, 200];

/** Whether float32 and float64 must be expected to part on this trial (see the module header). */
export function illConditioned(t: CompiledTrial): boolean {
  return (
    (t.loss.kind === 'hinge' && t.regularizer.spectralDecoupling > 0) ||
    (t.optimizer.kind === 'adam' && t.optimizer.epsilon < 1e-4)
  );
}

function assertScaled(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel: number,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++)
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= rel * scale,
      `${what}[${i}]: ${got[i]} vs reference ${want[i]} (scale ${scale})`,
    );
}

/**
 * Asserts that `got` (a float32 backend) agrees with the reference `want` at step `step` of trial
 * `t`; `first` is the reference at step 0 (its gradient norm sets the gradient-share bound).
 */
export function assertAgrees(
  at: string,
  t: CompiledTrial,
  step: number,
  got: TrialValues,
  want: ReferenceMeasurement,
  first: ReferenceMeasurement,
): void {
  if (step > 50 && illConditioned(t)) return;
  const late = step > 50;
  const floor = 0.1 * (t.loss.reduction === 'sum' ? t.data.n : 1);
  assert.ok(
    Math.abs(got.loss - want.loss) <= 1e-5 * Math.max(Math.abs(want.loss), floor),
    `${at}: loss ${got.loss} vs reference ${want.loss}`,
  );
  assert.equal(got.error, Math.fround(want.error), `${at}: error`);
  const shrink = Math.max(1, first.firstLayerGradNorm / want.firstLayerGradNorm);
  assertScaled(
    `${at} gradShare (gradient ${shrink.toExponential(1)}x smaller than at step 0)`,
    got.gradShare,
    want.gradShare,
    2e-5 * shrink,
  );
  for (const k of ['probeOutputs', 'trainOutputs', 'paramNorms'] as const)
    assertScaled(`${at} ${k}`, got[k], want[k], late ? 2e-4 : 2e-5);
  assert.deepEqual(Array.from(got.deadUnits), want.deadUnits.map(Math.fround), `${at} deadUnits`);
}

/**
 * Runs a population on native (once per entry of `threads`, DYNLAB_NATIVE_THREADS for the program;
 * undefined leaves it as it is) and each trial once on the float64 reference, recording at
 * agreementSteps, and asserts that every native run agrees with the reference. Returns the lanes
 * each native run was split over, so that a caller can check that the split it asked for happened.
 */
export function compareWithReference(
  names: string[],
  inputs: TrialInput[],
  datas: NativeData[],
  threads: (string | undefined)[] = [undefined],
): number[] {
  const trials = inputs.map((t) => compileTrial(t));
  const params = trials.map((t, p) => fixtureParams(t, 100 + p));
  const lanes: number[] = [];
  const runs = threads.map((th) => {
    const before = process.env.DYNLAB_NATIVE_THREADS;
    if (th !== undefined) process.env.DYNLAB_NATIVE_THREADS = th;
    try {
      const program = createNativeProgram(trials, datas, params);
      lanes.push(program.lanes);
      const seen: NativeMeasurement[] = [];
      for (const s of agreementSteps) {
        program.advance(s - program.stepsDone);
        seen.push(program.measure());
      }
      program.dispose();
      return seen;
    } finally {
      if (before === undefined) delete process.env.DYNLAB_NATIVE_THREADS;
      else process.env.DYNLAB_NATIVE_THREADS = before;
    }
  });
  trials.forEach((t, p) => {
    const ref = runReference(t, datas[p]!, params[p]!, agreementSteps);
    runs.forEach((seen, r) => {
      const on = threads[r] === undefined ? '' : ` on ${threads[r]} thread(s)`;
      agreementSteps.forEach((s, k) => {
        const m = seen[k]!;
        assert.equal(m.step, s);
        assert.equal(m.divergedAt[p], -1, `${names[p]} step ${s}${on}: diverged`);
        assertAgrees(`${names[p]} step ${s}${on}`, t, s, rowValues(m, p, t), ref[k]!, ref[0]!);
      });
    });
  });
  return lanes;
}
