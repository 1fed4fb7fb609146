/**
 * Runs one trial in float64 and returns its recorded quantities at the requested steps.
 *
 * Why it exists: it is the independent reference for every backend (the engine's tfjs programs and
 * the native addon). It follows the engine's conventions (packages/engine/src/population-program.ts):
 * "step s" is the state after s optimizer steps; every measurement is on the full training set;
 * `loss` is the data loss (no regularizer); the gradient share is of dJ/dW_1 with J = data loss +
 * spectral decoupling (weight decay left out), over the input features (the bias is not one).
 * Frozen layers (`trainable`, `biasTrainable` false) never change. Minibatch optimizers draw their
 * batches as the engine does (see reference-minibatch.ts).
 */
import type { CompiledTrial } from '@dynlab/spec';
import { epochOrder } from './reference-minibatch';
import { applyUpdate, slotState, type SlotState } from './reference-optimizer';
import {
  deadUnits,
  objective,
  output,
  toFloat64,
  type ReferenceData,
  type ReferenceParams,
} from './reference-network';

/** The recorded quantities of one trial at one step (float64). */
export interface ReferenceMeasurement {
  step: number;
  loss: number;
  error: number;
  /** Per input feature, sums to 1 (or all zeros when the gradient is zero). */
  gradShare: number[];
  /** Frobenius norm of dJ/dW_1 (the gradient the shares are taken of), for judging their conditioning. */
  firstLayerGradNorm: number;
  probeOutputs: number[];
  trainOutputs: number[];
  /** Frobenius norm of each layer's weights and biases together. */
  paramNorms: number[];
  /** Per hidden layer; empty unless the model is ReLU. */
  deadUnits: number[];
  /** The objective J = data loss + spectral decoupling + weight decay at this step. */
  objective: number;
  /** The step at which the parameters or the loss first stopped being finite, or -1. */
  divergedAt: number;
}

/** Whether the trial trains on minibatches (not gd, 0 < batchSize < n), as the engine decides. */
export function usesMinibatches(trial: CompiledTrial): boolean {
  const b = trial.optimizer.batchSize;
  return trial.optimizer.kind !== 'gd' && b > 0 && b < trial.data.n;
}

function isFinite(p: ReferenceParams): boolean {
  return [...p.weights, ...p.biases].every((a) => a.every(Number.isFinite));
}

function weightDecayTerm(trial: CompiledTrial, p: ReferenceParams): number {
  let s = 0;
  p.weights.forEach((w, l) => trial.model.trainable[l] && w.forEach((v) => (s += v * v)));
  p.biases.forEach(
    (b, l) => trial.model.bias && trial.model.biasTrainable[l] && b.forEach((v) => (s += v * v)),
  );
  return (trial.regularizer.weightDecay / 2) * s;
}

function measure(
  trial: CompiledTrial,
  p: ReferenceParams,
  data: ReferenceData,
  all: number[],
  step: number,
  divergedAt: number,
): ReferenceMeasurement {
  const dim = trial.widths[0]!;
  const n = all.length;
  const o = objective(trial, p, data, all);
  const g1 = o.gradient.weights[0]!;
  const columns = Array.from({ length: dim }, (_, j) => {
    let s = 0;
    for (let h = 0; h < g1.length / dim; h++) s += g1[h * dim + j]! ** 2;
    return s;
  });
  const total = columns.reduce((a, b) => a + b, 0);
  return {
    step,
    loss: o.dataLoss,
    error: o.errors / n,
    gradShare: columns.map((c) => (total > 0 ? c / total : 0)),
    firstLayerGradNorm: Math.sqrt(total),
    probeOutputs: trial.record.probes.map((probe) => output(trial, p, probe.x)),
    trainOutputs: Array.from(o.outputs),
    paramNorms: p.weights.map((w, l) =>
      Math.sqrt([...w, ...p.biases[l]!].reduce((s, v) => s + v * v, 0)),
    ),
    deadUnits: deadUnits(trial, p, data, n),
    objective: o.value + weightDecayTerm(trial, p),
    divergedAt: divergedAt >= 0 ? divergedAt : Number.isFinite(o.dataLoss) ? -1 : step,
  };
}

/**
 * Trains `trial` from `params` on `data` in float64 and measures it at each of `steps` (ascending
 * or not; each step at most `trial.steps`).
 */
export function runReference(
  trial: CompiledTrial,
  data: ReferenceData,
  params: { weights: readonly ArrayLike<number>[]; biases: readonly ArrayLike<number>[] },
  steps: readonly number[],
): ReferenceMeasurement[] {
  const p = toFloat64(params);
  const n = trial.data.n;
  const all = Array.from({ length: n }, (_, i) => i);
  const wanted = [...new Set(steps)].sort((a, b) => a - b);
  const last = wanted[wanted.length - 1] ?? 0;
  const slots = {
    weights: p.weights.map((w): SlotState => slotState(w.length)),
    biases: p.biases.map((b): SlotState => slotState(b.length)),
  };
  const batch = trial.optimizer.batchSize;
  const perEpoch = usesMinibatches(trial) ? Math.floor(n / batch) : 1;
  let epoch = -1;
  let order: number[] = all;
  let divergedAt = isFinite(p) ? -1 : 0;
  const out = new Map<number, ReferenceMeasurement>();
  for (let step = 0; step <= last; step++) {
    if (wanted.includes(step)) {
      const m = measure(trial, p, data, all, step, divergedAt);
      divergedAt = m.divergedAt;
      out.set(step, m);
    }
    if (step === last) break;
    let rows = all;
    if (usesMinibatches(trial)) {
      if (Math.floor(step / perEpoch) !== epoch) {
        epoch = Math.floor(step / perEpoch);
        order = epochOrder(trial.seed, n, epoch);
      }
      const k = step % perEpoch;
      rows = order.slice(k * batch, (k + 1) * batch);
    }
    const o = objective(trial, p, data, rows);
    if (divergedAt < 0 && !Number.isFinite(o.dataLoss)) divergedAt = step;
    p.weights.forEach(
      (w, l) =>
        trial.model.trainable[l] &&
        applyUpdate(trial, w, o.gradient.weights[l]!, slots.weights[l]!, step),
    );
    p.biases.forEach(
      (b, l) =>
        trial.model.bias &&
        trial.model.biasTrainable[l] &&
        applyUpdate(trial, b, o.gradient.biases[l]!, slots.biases[l]!, step),
    );
    if (divergedAt < 0 && !isFinite(p)) divergedAt = step + 1;
  }
  return steps.map((s) => out.get(s)!);
}
