/**
 * A trial's initial parameters, seeded by the trial seed, in pure JS so every backend starts from
 * the same numbers. Each layer draws from its own stream (`init`, layer) so that changing one
 * layer leaves the others unchanged.
 *
 * - gaussian: N(0, s^2); uniform: U(-s, s); s = scale, or scale / sqrt(fan-in) with `fanIn`.
 * - orthogonal: scale times a (semi-)orthogonal matrix (orthonormal rows when out <= in, columns
 *   otherwise), from the Gram-Schmidt QR of a Gaussian matrix; `fanIn` does not apply.
 * - biases: zero when the model has none, else N(0, biasScale^2) (U(-biasScale, biasScale) for uniform).
 * - `init.layers` gives explicit weights and/or biases for any layer; they replace the drawn ones.
 */
import type { CompiledTrial } from '@dynlab/spec';
import type { InitialParams } from './population-program';
import { stream, type Rng } from './rng';

/** Initial weights (per layer, row-major `[out, in]`) and biases (per layer, `[out]`) of a trial. */
export function initParams(trial: CompiledTrial): InitialParams {
  const { widths, init, model } = trial;
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const inDim = widths[l]!;
    const out = widths[l + 1]!;
    const given = init.layers.find((li) => li.layer === l);
    if (given && given.weights.length > 0) weights.push(Float32Array.from(given.weights));
    else
      weights.push(
        drawWeights(
          stream(trial.seed, 'init', l),
          init.kind,
          out,
          inDim,
          init.fanIn ? init.scale / Math.sqrt(inDim) : init.scale,
          init.scale,
        ),
      );
    const b = new Float32Array(out);
    if (model.bias) {
      if (given && given.bias.length > 0) b.set(given.bias);
      else if (init.biasScale > 0) {
        const rb = stream(trial.seed, 'init-bias', l);
        for (let i = 0; i < out; i++)
          b[i] =
            init.kind === 'uniform'
              ? init.biasScale * (2 * rb.uniform() - 1)
              : init.biasScale * rb.normal();
      }
    }
    biases.push(b);
  }
  return { weights, biases };
}

function drawWeights(
  rng: Rng,
  kind: CompiledTrial['init']['kind'],
  out: number,
  inDim: number,
  s: number,
  gain: number,
): Float32Array {
  const w = new Float32Array(out * inDim);
  if (kind === 'orthogonal') return orthogonal(rng, out, inDim, gain);
  for (let i = 0; i < w.length; i++)
    w[i] = kind === 'uniform' ? s * (2 * rng.uniform() - 1) : s * rng.normal();
  return w;
}

/** gain * Q, Q `[out, in]` with orthonormal rows (out <= in) or columns (out > in). */
function orthogonal(rng: Rng, out: number, inDim: number, gain: number): Float32Array {
  const rows = Math.max(out, inDim);
  const cols = Math.min(out, inDim);
  // Columns of a rows x cols Gaussian matrix, orthonormalized by modified Gram-Schmidt.
  const q: Float64Array[] = [];
  for (let c = 0; c < cols; c++) {
    const v = new Float64Array(rows);
    for (let r = 0; r < rows; r++) v[r] = rng.normal();
    for (const u of q) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += u[r]! * v[r]!;
      for (let r = 0; r < rows; r++) v[r] = v[r]! - dot * u[r]!;
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += v[r]! * v[r]!;
    norm = Math.sqrt(norm);
    for (let r = 0; r < rows; r++) v[r] = v[r]! / norm;
    q.push(v);
  }
  const w = new Float32Array(out * inDim);
  for (let i = 0; i < out; i++)
    for (let j = 0; j < inDim; j++) w[i * inDim + j] = gain * (out > inDim ? q[j]![i]! : q[i]![j]!);
  return w;
}
