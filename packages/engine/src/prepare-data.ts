/**
 * Builds a trial's training set, deterministically from its data seed, in pure JS (float64 maths,
 * stored as float32) so that every backend and every test trains on the very same numbers.
 *
 * Each random choice comes from its own named stream (`rng.stream(seed, ...)`), so changing one
 * feature leaves the others' samples untouched; in particular a knocked-out feature gives exactly
 * the same dataset with that one column set to zero, the counterfactual that shows starvation.
 *
 * - `features` (the papers' feature model): labels are balanced: ceil(n/2) samples get +1, chosen
 *   by a seeded permutation (stream `labels`). For feature j of frequency p, exactly round(p*n)
 *   samples carry it, split over the two classes as evenly as possible (the odd one to the positive
 *   class), chosen by seeded permutations of each class (stream `feature`, j). A carrier's value is
 *   y*norm when the feature is informative and a random sign times norm otherwise; non-carriers are
 *   0, and a knocked-out feature is 0 everywhere. Label noise then flips round(labelNoise*n) labels
 *   chosen by a seeded permutation (stream `noise`); the features keep the clean label.
 * - `gaussian`: x = scales * z with z ~ N(0, I); the teacher direction t (a seeded random direction
 *   when not given) labels y = sign(t.x) (+1 on the boundary), and each point is pushed away from the
 *   boundary along t/|t| by minMargin, so every margin is at least minMargin; then label noise as above.
 * - `moons`: the two half circles of `make_moons`, with the class coordinate first: class +1 at
 *   (delta + sin s, cos s - 1/2) and class -1 at (-delta - sin s, 1/2 - cos s), s evenly spaced on
 *   [0, pi], ceil(n/2) points in class +1, plus N(0, noise^2) on both coordinates. The classes are
 *   separated on the first coordinate by a gap of 2*delta (negative: they overlap); delta = -1/4
 *   is scikit-learn's layout, centred.
 * - `inline`: the given values.
 */
import type { CompiledTrial } from '@dynlab/spec';
import type { PreparedData } from './population-program';
import { stream, type Rng } from './rng';

/** The training set of a trial: inputs `n x D` row-major, labels in {-1, +1}. */
export function prepareData(trial: CompiledTrial): PreparedData {
  const d = trial.data;
  switch (d.kind) {
    case 'features':
      return featuresData(d.n, d.features, d.labelNoise, d.seed);
    case 'gaussian':
      return gaussianData(d, d.seed);
    case 'moons':
      return moonsData(d.n, d.noise, d.delta, d.seed);
    case 'inline':
      return { x: Float32Array.from(d.x), y: Float32Array.from(d.y), n: d.n, dim: d.dim };
  }
}

type Feature = Extract<CompiledTrial['data'], { kind: 'features' }>['features'][number];

function featuresData(
  n: number,
  features: readonly Feature[],
  labelNoise: number,
  seed: number,
): PreparedData {
  const dim = features.length;
  const nPos = Math.ceil(n / 2);
  const nNeg = n - nPos;
  const clean = new Float64Array(n).fill(-1);
  const order = stream(seed, 'labels').permutation(n);
  for (let k = 0; k < nPos; k++) clean[order[k]!] = 1;
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < n; i++) (clean[i] === 1 ? pos : neg).push(i);

  const x = new Float32Array(n * dim);
  features.forEach((f, j) => {
    const rng = stream(seed, 'feature', j);
    const k = Math.round(f.frequency * n);
    const kPos = Math.max(Math.ceil(k / 2), k - nNeg);
    const kNeg = k - kPos;
    const carriers = [...pick(rng, pos, kPos), ...pick(rng, neg, kNeg)];
    const signs = new Float64Array(n);
    for (let i = 0; i < n; i++) signs[i] = rng.sign();
    if (f.knockedOut) return;
    for (const i of carriers) x[i * dim + j] = (f.informative ? clean[i]! : signs[i]!) * f.norm;
  });
  return { x, y: withLabelNoise(clean, labelNoise, seed), n, dim };
}

/** The first `k` of a seeded permutation of `from`. */
function pick(rng: Rng, from: readonly number[], k: number): number[] {
  const perm = rng.permutation(from.length);
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(from[perm[i]!]!);
  return out;
}

/** Flips round(noise*n) labels chosen by a seeded permutation. */
function withLabelNoise(clean: Float64Array, noise: number, seed: number): Float32Array {
  const y = Float32Array.from(clean);
  const flips = Math.round(noise * y.length);
  if (flips > 0) {
    const perm = stream(seed, 'noise').permutation(y.length);
    for (let k = 0; k < flips; k++) y[perm[k]!] = -y[perm[k]!]!;
  }
  return y;
}

type Gaussian = Extract<CompiledTrial['data'], { kind: 'gaussian' }>;

function gaussianData(g: Gaussian, seed: number): PreparedData {
  const { n, dim, minMargin } = g;
  const scales = g.scales.length ? g.scales : Array<number>(dim).fill(1);
  let teacher = g.teacher;
  if (teacher.length === 0) {
    const rt = stream(seed, 'teacher');
    teacher = Array.from({ length: dim }, () => rt.normal());
  }
  const norm = Math.hypot(...teacher);
  const t = teacher.map((v) => v / norm);
  const rx = stream(seed, 'x');
  const x = new Float32Array(n * dim);
  const clean = new Float64Array(n);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let proj = 0;
    for (let j = 0; j < dim; j++) {
      row[j] = scales[j]! * rx.normal();
      proj += row[j]! * t[j]!;
    }
    const s = proj >= 0 ? 1 : -1;
    for (let j = 0; j < dim; j++) x[i * dim + j] = row[j]! + minMargin * s * t[j]!;
    clean[i] = s;
  }
  return { x, y: withLabelNoise(clean, g.labelNoise, seed), n, dim };
}

function moonsData(n: number, noise: number, delta: number, seed: number): PreparedData {
  const nPos = Math.ceil(n / 2);
  const rng = stream(seed, 'noise');
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const positive = i < nPos;
    const count = positive ? nPos : n - nPos;
    const k = positive ? i : i - nPos;
    const s = count > 1 ? (Math.PI * k) / (count - 1) : 0;
    const sep = positive ? delta + Math.sin(s) : -delta - Math.sin(s);
    const other = positive ? Math.cos(s) - 0.5 : 0.5 - Math.cos(s);
    x[2 * i] = sep + noise * rng.normal();
    x[2 * i + 1] = other + noise * rng.normal();
    y[i] = positive ? 1 : -1;
  }
  return { x, y, n, dim: 2 };
}
