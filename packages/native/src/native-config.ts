/**
 * Turns a population of compiled trials, their data and initial parameters into the addon's
 * constructor arguments, checking every shape on the way.
 *
 * Why the checks live here as well as in C++: a mismatch found in TypeScript names the trial and
 * the field (`trials[3]: widths [2,8,1] differ from trial 0's [2,4,1]`), while the C++ checks only
 * guard memory. Trials whose data are equal (the same object, or equal values) are given one
 * dataset, which lets the addon fold them into one GEMM.
 */
import { readFileSync } from 'node:fs';
import { DynlabError, ErrorCode } from '@dynlab/core';
import type { CompiledTrial } from '@dynlab/spec';
import type { NativeData, NativeParams } from './program-types';

/** Order of the rows of the addon's per-trial hyperparameter matrix (see csrc/addon.cc). */
export const hyperRows = [
  'learningRate',
  'margin',
  'weightDecay',
  'spectral',
  'momentum',
  'beta1',
  'beta2',
  'epsilon',
] as const;

/** Constructor arguments of the addon's `Population`. */
export interface NativeConfig {
  config: {
    population: number;
    samples: number;
    widths: Int32Array;
    activation: number;
    bias: boolean;
    trainable: Uint8Array;
    biasTrainable: Uint8Array;
    loss: number;
    meanReduction: boolean;
    optimizer: number;
    batchSize: number;
    probes: number;
    chunk: number;
    threads: number;
    dataset: Int32Array;
    datasets: number;
  };
  arrays: {
    x: Float32Array[];
    y: Float32Array[];
    weights: Float32Array[];
    biases: Float32Array[];
    probes: Float32Array;
    hyper: Float64Array;
    seeds: Uint32Array;
  };
}

/** A shape mismatch between the trials, their data, their parameters or the addon's buffers. */
export function shapeError(message: string, details: Record<string, string> = {}): DynlabError {
  return new DynlabError(ErrorCode.Shape, message, { details: { backend: 'native', ...details } });
}

const lossCodes = { logistic: 0, hinge: 1, squared: 2 } as const;
const optimizerCodes = { gd: 0, sgd: 1, momentum: 2, adam: 3 } as const;

/** This core's L2 cache in bytes, from sysfs (Linux); 1 MiB where it cannot be read. */
function l2Bytes(): number {
  try {
    const text = readFileSync('/sys/devices/system/cpu/cpu0/cache/index2/size', 'utf8').trim();
    const m = /^(\d+)([KM]?)$/.exec(text);
    if (m) return Number(m[1]) * (m[2] === 'M' ? 1 << 20 : m[2] === 'K' ? 1 << 10 : 1);
  } catch {
    // No sysfs: fall through to the default.
  }
  return 1 << 20;
}

/**
 * Networks per chunk: the chunk's first-layer activations ([chunk * H, N] floats) should fill about
 * 1.2x the L2 cache (measured on a 1 MiB-L2 EPYC for H = 100, N = 1000: 3 networks best, 2-4 within
 * 2%, 1 and 8 about 5% slower, 16 about 10%).
 * @default from the first hidden width, N and the L2 size, between 1 and 8; DYNLAB_NATIVE_CHUNK overrides
 */
export function defaultChunk(widths: readonly number[], n: number): number {
  const forced = Number(process.env.DYNLAB_NATIVE_CHUNK);
  if (Number.isInteger(forced) && forced >= 1) return forced;
  const perNetwork = (widths[1] ?? 1) * n * 4;
  return Math.max(1, Math.min(8, Math.round((1.2 * l2Bytes()) / perNetwork)));
}

/**
 * Threads that split the samples of each full-batch pass of one program (see csrc/team.h): for a
 * population smaller than the cores it may use, above all a lone network, which cannot be split
 * over worker threads. A pool whose workers each run a share of a population leaves it at 1.
 * @default 1; DYNLAB_NATIVE_THREADS sets it (1 to 256)
 */
export function defaultThreads(): number {
  const forced = Number(process.env.DYNLAB_NATIVE_THREADS);
  return Number.isInteger(forced) && forced >= 1 && forced <= 256 ? forced : 1;
}

/** Whether the trial trains on minibatches: as the engine decides (not gd, 0 < batchSize < n). */
export function minibatchSize(trial: CompiledTrial): number {
  const b = trial.optimizer.batchSize;
  return trial.optimizer.kind !== 'gd' && b > 0 && b < trial.data.n ? b : 0;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function shapeOf(t: CompiledTrial): string {
  const m = t.model;
  return JSON.stringify([
    t.data.n,
    t.widths,
    m.kind,
    m.bias,
    m.trainable,
    m.biasTrainable,
    t.loss.kind,
    t.loss.reduction,
    t.optimizer.kind,
    minibatchSize(t),
    t.record.probes.length,
  ]);
}

/** Checks the population and builds the addon's arguments; throws DynlabError(SHAPE) on any mismatch. */
export function nativeConfig(
  trials: readonly CompiledTrial[],
  data: readonly NativeData[],
  params: readonly NativeParams[],
): NativeConfig {
  const P = trials.length;
  if (P === 0) throw shapeError('a population needs at least one trial');
  if (data.length !== P || params.length !== P)
    throw shapeError(
      `expected one data set and one parameter set per trial (${P}), got ${data.length} and ${params.length}`,
    );
  const first = trials[0]!;
  const widths = first.widths;
  const layers = widths.length - 1;
  const D = widths[0]!;
  const N = first.data.n;
  const Q = first.record.probes.length;
  const key = shapeOf(first);

  const datasets: NativeData[] = [];
  const dataset = new Int32Array(P);
  const weights = widths.slice(1).map((out, l) => new Float32Array(P * out * widths[l]!));
  const biases = widths.slice(1).map((out) => new Float32Array(P * out));
  const probes = new Float32Array(P * Q * D);
  const hyper = new Float64Array(hyperRows.length * P);
  const seeds = new Uint32Array(P);

  trials.forEach((t, p) => {
    if (shapeOf(t) !== key)
      throw shapeError(`trials[${p}] does not have trial 0's shape (${shapeOf(t)} vs ${key})`, {
        trial: String(p),
      });
    const d = data[p]!;
    if (d.n !== N || d.dim !== D || d.x.length !== N * D || d.y.length !== N)
      throw shapeError(
        `data[${p}]: expected x of ${N}x${D} and ${N} labels, got n=${d.n} dim=${d.dim} with ${d.x.length} and ${d.y.length} values`,
        { trial: String(p) },
      );
    let k = datasets.findIndex((o) => o === d || (sameValues(o.x, d.x) && sameValues(o.y, d.y)));
    if (k < 0) k = datasets.push(d) - 1;
    dataset[p] = k;

    const w = params[p]!;
    if (w.weights.length !== layers || w.biases.length !== layers)
      throw shapeError(
        `params[${p}]: expected ${layers} weight and bias arrays, got ${w.weights.length} and ${w.biases.length}`,
        { trial: String(p) },
      );
    for (let l = 0; l < layers; l++) {
      const out = widths[l + 1]!;
      const size = out * widths[l]!;
      const wl = w.weights[l]!;
      const bl = w.biases[l]!;
      if (wl.length !== size || bl.length !== out)
        throw shapeError(
          `params[${p}] layer ${l}: expected ${out}x${widths[l]} weights and ${out} biases, got ${wl.length} and ${bl.length}`,
          { trial: String(p) },
        );
      weights[l]!.set(wl, p * size);
      biases[l]!.set(bl, p * out);
    }
    t.record.probes.forEach((probe, q) => {
      if (probe.x.length !== D)
        throw shapeError(
          `trials[${p}].record.probes[${q}]: expected ${D} values, got ${probe.x.length}`,
          { trial: String(p) },
        );
      probes.set(probe.x, (p * Q + q) * D);
    });
    const o = t.optimizer;
    const row = [
      o.learningRate,
      t.loss.margin,
      t.regularizer.weightDecay,
      t.regularizer.spectralDecoupling,
      o.momentum,
      o.beta1,
      o.beta2,
      o.epsilon,
    ];
    row.forEach((v, r) => (hyper[r * P + p] = v));
    seeds[p] = t.seed;
  });

  const trainable = Uint8Array.from(first.model.trainable, Number);
  const biasTrainable = Uint8Array.from(first.model.biasTrainable, (b) =>
    Number(b && first.model.bias),
  );
  return {
    config: {
      population: P,
      samples: N,
      widths: Int32Array.from(widths),
      activation: first.model.kind === 'relu' ? 1 : 0,
      bias: first.model.bias,
      trainable,
      biasTrainable,
      loss: lossCodes[first.loss.kind],
      meanReduction: first.loss.reduction === 'mean',
      optimizer: optimizerCodes[first.optimizer.kind],
      batchSize: minibatchSize(first),
      probes: Q,
      chunk: defaultChunk(widths, N),
      threads: defaultThreads(),
      dataset,
      datasets: datasets.length,
    },
    arrays: {
      x: datasets.map((d) => d.x),
      y: datasets.map((d) => d.y),
      weights,
      biases,
      probes,
      hyper,
      seeds,
    },
  };
}
