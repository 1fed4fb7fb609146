/**
 * Small deterministic data and parameters for the native package's tests, the sanitizer workload
 * and the benchmark (not exported from the package).
 *
 * Why not the engine's `prepareData`/`initParams`: the native tests must run where the engine
 * does not build yet, and these keep the numbers fixed by a single seed.
 */
import type { CompiledTrial } from '@dynlab/spec';
import type { NativeData, NativeParams } from './program-types';

/** Uniform numbers in (-1, 1) from a Park-Miller generator. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 48271) % 2147483647) / 2147483647) * 2 - 1;
}

/** Linearly separable data with a margin of 0.3 along the first feature, labels from a fixed direction. */
export function fixtureData(seed: number, n: number, dim: number): NativeData {
  const r = lcg(seed);
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      x[i * dim + j] = r();
      s += x[i * dim + j]! / (j + 1);
    }
    y[i] = s >= 0 ? 1 : -1;
    x[i * dim] = x[i * dim]! + 0.3 * y[i]!;
  }
  return { x, y, n, dim };
}

/** Weights uniform in +-1.2/sqrt(fan-in), biases in +-0.1 (zero without biases). */
export function fixtureParams(trial: CompiledTrial, seed: number): NativeParams {
  const r = lcg(seed);
  const w = trial.widths;
  return {
    weights: w
      .slice(1)
      .map((out, l) =>
        Float32Array.from({ length: out * w[l]! }, () => (r() * 1.2) / Math.sqrt(w[l]!)),
      ),
    biases: w
      .slice(1)
      .map((out) => Float32Array.from({ length: out }, () => (trial.model.bias ? 0.1 * r() : 0))),
  };
}
