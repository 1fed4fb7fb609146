/**
 * A fully connected network in float64, one sample at a time: forward, backward, and the objective
 * of a trial over a set of rows.
 *
 * Why it is written this way: this is the independent reference every backend is checked against,
 * so it follows the mathematics line by line (no batching, no folding, no fused loops, no shared
 * code with the engine or the native addon) and uses float64 throughout. It is slow on purpose;
 * keep the problems it is given small.
 *
 * The model: a_0 = x; z_{l+1} = W_l a_l + b_l; a_{l+1} = act(z_{l+1}) for hidden layers (ReLU for
 * `relu` models, the identity for `linear` and `deepLinear`); the output f = z_L is a scalar.
 * The objective of a batch of rows B (R = mean or sum over B, as the trial's reduction says):
 *   J = R_i loss(y_i, f_i) + spectralDecoupling * R_i f_i^2 [+ weightDecay / 2 * ||theta||^2,
 *   added by the optimizer over the trainable weights and biases].
 * Losses: logistic log(1 + exp(-y f)); hinge max(0, margin - y f); squared (f - y)^2 / 2 (the
 * one-half convention: its gradient is f - y).
 */
import type { CompiledTrial } from '@dynlab/spec';
import { lossDerivative, lossValue } from './reference-loss';

/** Parameters of one network in float64: per layer, weights row-major `[out, in]` and biases `[out]`. */
export interface ReferenceParams {
  weights: Float64Array[];
  biases: Float64Array[];
}

/** A training set: `x` is `n x dim` row-major, `y` holds `n` labels in {-1, +1}. */
export interface ReferenceData {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** What one forward pass of one input keeps for the backward pass. */
interface Trace {
  /** Layer inputs a_0 .. a_{L-1}. */
  inputs: Float64Array[];
  /** Pre-activations z_1 .. z_{L-1} of the hidden layers (index l-1 for layer l). */
  hidden: Float64Array[];
  output: number;
}

/** Copies initial parameters (any numeric arrays) into float64. */
export function toFloat64(params: {
  weights: readonly ArrayLike<number>[];
  biases: readonly ArrayLike<number>[];
}): ReferenceParams {
  return {
    weights: params.weights.map((w) => Float64Array.from(w)),
    biases: params.biases.map((b) => Float64Array.from(b)),
  };
}

function relu(trial: CompiledTrial): boolean {
  return trial.model.kind === 'relu';
}

/** Forward pass of one input. */
function trace(trial: CompiledTrial, p: ReferenceParams, input: Float64Array): Trace {
  const widths = trial.widths;
  const layers = widths.length - 1;
  const inputs: Float64Array[] = [input];
  const hidden: Float64Array[] = [];
  let a = input;
  for (let l = 0; l < layers; l++) {
    const out = widths[l + 1]!;
    const inDim = widths[l]!;
    const z = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = p.biases[l]![o]!;
      for (let i = 0; i < inDim; i++) s += p.weights[l]![o * inDim + i]! * a[i]!;
      z[o] = s;
    }
    if (l === layers - 1) return { inputs, hidden, output: z[0]! };
    hidden.push(z);
    a = relu(trial) ? z.map((v) => (v > 0 ? v : 0)) : z;
    inputs.push(a);
  }
  throw new Error('unreachable: a network has at least one layer');
}

/** The network's output f(x) for one input. */
export function output(trial: CompiledTrial, p: ReferenceParams, input: ArrayLike<number>): number {
  return trace(trial, p, Float64Array.from(input)).output;
}

/** Row `i` of a row-major `n x dim` matrix. */
export function row(x: ArrayLike<number>, dim: number, i: number): Float64Array {
  const r = new Float64Array(dim);
  for (let j = 0; j < dim; j++) r[j] = x[i * dim + j]!;
  return r;
}

/** Zeros shaped like the parameters. */
export function zerosLike(p: ReferenceParams): ReferenceParams {
  return {
    weights: p.weights.map((w) => new Float64Array(w.length)),
    biases: p.biases.map((b) => new Float64Array(b.length)),
  };
}

/** The objective over some rows of the data: the data loss, J (data loss + spectral decoupling) and dJ/dtheta. */
export interface Objective {
  /** R_i loss(y_i, f_i), no regularizer. */
  dataLoss: number;
  /** Data loss plus spectral decoupling (weight decay is the optimizer's). */
  value: number;
  /** dJ/dtheta (no weight decay). */
  gradient: ReferenceParams;
  /** Outputs f_i of the rows, in order. */
  outputs: Float64Array;
  /** Number of rows with y f <= 0. */
  errors: number;
}

/** Evaluates the objective and its gradient by backpropagation over `rows` of the data. */
export function objective(
  trial: CompiledTrial,
  p: ReferenceParams,
  data: ReferenceData,
  rows: readonly number[],
): Objective {
  const widths = trial.widths;
  const layers = widths.length - 1;
  const dim = widths[0]!;
  const scale = trial.loss.reduction === 'mean' ? 1 / rows.length : 1;
  const sd = trial.regularizer.spectralDecoupling;
  const gradient = zerosLike(p);
  const outputs = new Float64Array(rows.length);
  let dataLoss = 0;
  let penalty = 0;
  let errors = 0;
  rows.forEach((r, k) => {
    const y = data.y[r]!;
    const t = trace(trial, p, row(data.x, dim, r));
    const f = t.output;
    outputs[k] = f;
    dataLoss += scale * lossValue(trial.loss, y, f);
    penalty += scale * sd * f * f;
    if (y * f <= 0) errors++;
    // delta = dJ/dz for the current layer's outputs, starting at the output layer.
    let delta = Float64Array.of(scale * (lossDerivative(trial.loss, y, f) + 2 * sd * f));
    for (let l = layers - 1; l >= 0; l--) {
      const out = widths[l + 1]!;
      const inDim = widths[l]!;
      const a = t.inputs[l]!;
      for (let o = 0; o < out; o++) {
        gradient.biases[l]![o]! += delta[o]!;
        for (let i = 0; i < inDim; i++) gradient.weights[l]![o * inDim + i]! += delta[o]! * a[i]!;
      }
      if (l === 0) break;
      const z = t.hidden[l - 1]!;
      const previous = new Float64Array(inDim);
      for (let i = 0; i < inDim; i++) {
        let s = 0;
        for (let o = 0; o < out; o++) s += p.weights[l]![o * inDim + i]! * delta[o]!;
        previous[i] = relu(trial) ? (z[i]! > 0 ? s : 0) : s;
      }
      delta = previous;
    }
  });
  if (!trial.model.bias) gradient.biases.forEach((b) => b.fill(0));
  return { dataLoss, value: dataLoss + penalty, gradient, outputs, errors };
}

/** Fraction of dead units (pre-activation <= 0 on every row) per hidden layer; empty unless ReLU. */
export function deadUnits(
  trial: CompiledTrial,
  p: ReferenceParams,
  data: ReferenceData,
  n: number,
): number[] {
  if (!relu(trial)) return [];
  const widths = trial.widths;
  const alive = widths.slice(1, -1).map((h) => new Array<boolean>(h).fill(false));
  for (let r = 0; r < n; r++) {
    const t = trace(trial, p, row(data.x, widths[0]!, r));
    t.hidden.forEach((z, l) => z.forEach((v, h) => v > 0 && (alive[l]![h] = true)));
  }
  return alive.map((units) => units.filter((a) => !a).length / units.length);
}
