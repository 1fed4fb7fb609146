/**
 * The model mathematics on TensorFlow.js tensors, for a group of G trials that share their data:
 * forward pass, per-sample loss, and hand-written gradients. Kept apart from the program (state,
 * optimizers, measurements) so that the tests can hold these functions against `tf.grad` for every
 * model, loss and regularizer.
 *
 * Layout (measured on tfjs-wasm, see PERFORMANCE-NOTES.md): tfjs-wasm sends only batch-1,
 * non-transposed 2-D matMuls to XNNPACK (about 10x faster than anything else), so the population
 * is folded into the hidden dimension of the first layer: W0 is `[G*H1, D+1]` (the bias is the last
 * column, the data `XT` `[D+1, B]` has a row of ones), Z0 = W0 . XT is one fast matMul, and its
 * weight gradient dW0 = dZ0 . X with X `[B, D+1]` stored untransposed is the other. Later layers
 * have a leading population axis, `[G, out, in]` weights and `[G, out, 1]` biases.
 *
 * For the two-layer ReLU net (the canonical model) the backward pass avoids every slow batched
 * matMul over the samples: with Gm = relu'(Z0) * df (so that dZ0 = a * Gm) and M = Gm . X,
 * dW0 = a * M (row scaling) and da_h = sum_n A_hn df_n = sum_n Z_hn Gm_hn = <W0_h, M_h>, a row-wise
 * dot over D+1 instead of a reduction over the samples.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The structure shared by every trial of a population. */
export interface ModelShape {
  kind: 'linear' | 'deepLinear' | 'relu';
  /** [D, ...hidden, 1]. */
  widths: readonly number[];
  loss: 'logistic' | 'hinge' | 'squared';
  reduction: 'mean' | 'sum';
  /** Whether the layers have biases (W0 then has a bias column and the data a row of ones). */
  bias: boolean;
  /** Number of trials in the group. */
  size: number;
}

/** Parameters of a group: W0 `[G*H1, D+1]` (bias last), then per later layer `[G, out, in]` and `[G, out, 1]`. */
export interface GroupParams {
  w0: tf.Tensor2D;
  ws: tf.Tensor3D[];
  bs: tf.Tensor3D[];
}

/** Per-trial coefficients of the objective, each `[G, 1, 1]`; spectral decoupling absent when every trial's is 0. */
export interface ObjectiveCoefs {
  margin: tf.Tensor3D;
  spectralDecoupling?: tf.Tensor3D;
}

/**
 * A batch of shared data: XT `[C, B]` and X `[B, C]`, where C = D+1 with a row of ones (the
 * first-layer bias) when the model has biases and C = D without; y `[1, 1, B]`.
 */
export interface Batch {
  xt: tf.Tensor2D;
  x: tf.Tensor2D;
  y: tf.Tensor3D;
}

/** Forward pass: the output f `[G, 1, B]` and the activations each later layer consumed (`[G, in, B]`). */
export interface Forward {
  f: tf.Tensor3D;
  acts: tf.Tensor3D[];
}

/** Runs the network on shared inputs XT `[C, B]` (2-D, folded) or per-trial inputs `[G, C, B]` (C = columns of W0). */
export function forward(
  shape: ModelShape,
  p: GroupParams,
  input: tf.Tensor2D | tf.Tensor3D,
): Forward {
  const G = shape.size;
  const h1 = shape.widths[1]!;
  const B = input.shape[input.rank - 1]!;
  const layers = shape.widths.length - 1;
  const relu = shape.kind === 'relu';
  let z0: tf.Tensor3D;
  if (input.rank === 2) {
    const m =
      relu && layers > 1
        ? tf.fused.matMul({ a: p.w0, b: input as tf.Tensor2D, activation: 'relu' })
        : tf.matMul(p.w0, input as tf.Tensor2D);
    z0 = tf.reshape<tf.Rank.R3>(m, [G, h1, B]);
  } else {
    const m = tf.matMul<tf.Tensor3D>(
      tf.reshape<tf.Rank.R3>(p.w0, [G, h1, p.w0.shape[1]]),
      input as tf.Tensor3D,
    );
    z0 = relu && layers > 1 ? tf.relu(m) : m;
  }
  if (layers === 1) return { f: z0, acts: [] };
  const acts: tf.Tensor3D[] = [z0];
  let a = z0;
  for (let l = 1; l < layers; l++) {
    const z = shape.bias
      ? tf.add<tf.Tensor3D>(tf.matMul(p.ws[l - 1]!, a), p.bs[l - 1]!)
      : tf.matMul<tf.Tensor3D>(p.ws[l - 1]!, a);
    if (l === layers - 1) return { f: z, acts };
    a = relu ? tf.relu(z) : z;
    acts.push(a);
  }
  throw new Error('unreachable');
}

/** 1 / B for the mean reduction, 1 for the sum. */
function reductionScale(shape: ModelShape, batchSize: number): number {
  return shape.reduction === 'mean' ? 1 / batchSize : 1;
}

/** Per-sample loss `[G, 1, B]` at outputs f and labels y. */
export function sampleLoss(
  shape: ModelShape,
  f: tf.Tensor3D,
  y: tf.Tensor3D,
  margin: tf.Tensor3D,
): tf.Tensor3D {
  switch (shape.loss) {
    case 'logistic':
      return tf.softplus(tf.neg(tf.mul<tf.Tensor3D>(y, f)));
    case 'hinge':
      return tf.relu(tf.sub<tf.Tensor3D>(margin, tf.mul(y, f)));
    case 'squared':
      return tf.mul<tf.Tensor3D>(tf.square(tf.sub(f, y)), 0.5);
  }
}

/** The data loss per trial `[G]` (mean or sum over the batch). */
export function dataLoss(
  shape: ModelShape,
  f: tf.Tensor3D,
  y: tf.Tensor3D,
  margin: tf.Tensor3D,
): tf.Tensor1D {
  const l = tf.sum<tf.Tensor1D>(sampleLoss(shape, f, y, margin), [1, 2]);
  return shape.reduction === 'mean' ? tf.div<tf.Tensor1D>(l, f.shape[2]) : l;
}

/** dJ/df `[G, 1, B]` of the data loss plus spectral decoupling, reduction included (`negY` = -y, when the caller keeps it). */
export function outputGrad(
  shape: ModelShape,
  f: tf.Tensor3D,
  y: tf.Tensor3D,
  c: ObjectiveCoefs,
  negY: tf.Tensor3D = tf.neg(y),
): tf.Tensor3D {
  let g: tf.Tensor3D;
  switch (shape.loss) {
    case 'logistic':
      g = tf.mul(negY, tf.sigmoid(tf.mul(negY, f)));
      break;
    case 'hinge':
      g = tf.mul(negY, tf.step(tf.sub(c.margin, tf.mul(y, f))));
      break;
    case 'squared':
      g = tf.sub(f, y);
      break;
  }
  if (c.spectralDecoupling) g = tf.add(g, tf.mul(tf.mul(c.spectralDecoupling, 2), f));
  const scale = reductionScale(shape, f.shape[2]);
  return scale === 1 ? g : tf.mul(g, scale);
}

/** Gradients of the data loss plus spectral decoupling (no weight decay), in the layout of the parameters. */
export function gradients(
  shape: ModelShape,
  p: GroupParams,
  fw: Forward,
  df: tf.Tensor3D,
  x: tf.Tensor2D,
): GroupParams {
  const G = shape.size;
  const layers = shape.widths.length - 1;
  const B = df.shape[2];
  const h1 = shape.widths[1]!;
  if (layers === 1) return { w0: tf.matMul(tf.reshape(df, [G, B]), x), ws: [], bs: [] };
  const relu = shape.kind === 'relu';
  if (layers === 2 && relu) {
    const a1 = fw.acts[0]!;
    const gm = tf.mul<tf.Tensor3D>(tf.step(a1), df);
    const m = tf.matMul(tf.reshape(gm, [G * h1, B]), x);
    const w0 = tf.mul<tf.Tensor2D>(m, tf.reshape(p.ws[0]!, [G * h1, 1]));
    const da = tf.reshape<tf.Rank.R3>(tf.sum(tf.mul(p.w0, m), 1), [G, 1, h1]);
    return { w0, ws: [da], bs: [tf.sum<tf.Tensor3D>(df, 2, true)] };
  }
  const ws: tf.Tensor3D[] = new Array<tf.Tensor3D>(layers - 1);
  const bs: tf.Tensor3D[] = new Array<tf.Tensor3D>(layers - 1);
  let dz = df;
  for (let l = layers - 1; l >= 1; l--) {
    const a = fw.acts[l - 1]!;
    ws[l - 1] = tf.matMul(dz, a, false, true);
    bs[l - 1] = tf.sum<tf.Tensor3D>(dz, 2, true);
    const da = tf.matMul<tf.Tensor3D>(p.ws[l - 1]!, dz, true, false);
    dz = relu ? tf.mul<tf.Tensor3D>(da, tf.step(a)) : da;
  }
  return { w0: tf.matMul(tf.reshape(dz, [G * h1, B]), x), ws, bs };
}

/** The objective J per trial (data loss + spectral decoupling + weight decay), written plainly for autodiff checks. */
export function objective(
  shape: ModelShape,
  p: GroupParams,
  batch: Batch,
  c: ObjectiveCoefs,
  weightDecay: tf.Tensor1D,
): tf.Tensor1D {
  const { f } = forward(shape, p, batch.xt);
  const scale = reductionScale(shape, f.shape[2]);
  const data = tf.mul(tf.sum(sampleLoss(shape, f, batch.y, c.margin), [1, 2]), scale);
  const sd = c.spectralDecoupling
    ? tf.mul(
        tf.mul(tf.sum(tf.square(f), [1, 2]), tf.reshape(c.spectralDecoupling, [shape.size])),
        scale,
      )
    : tf.zeros([shape.size]);
  const G = shape.size;
  let sq = tf.sum(tf.reshape(tf.square(p.w0), [G, -1]), 1);
  for (const t of [...p.ws, ...p.bs]) sq = tf.add(sq, tf.sum(tf.square(t), [1, 2]));
  return tf.add(tf.add(data, sd), tf.mul(tf.mul(weightDecay, 0.5), sq));
}
