/**
 * Sweep specs: a base trial plus axes, expanded into trials and grouped into jobs. Expansion is
 * a generator so a sweep of 100,000 trials is walked in bounded memory; jobs are formed per
 * shape with at most `population` trials each, so only one partial job per shape is held.
 */
import { ValidationError, seededRng, type Issue } from '@dynlab/core';
import { z } from 'zod';
import { checkTrial, zodIssues, type CompiledTrial } from './compiled-trial';
import { TrialSchema } from './trial-schema';
import { hasPath, parsePath, setPath, type PathPart } from './paths';

export const RangeSchema = z
  .object({
    min: z.number().finite(),
    max: z.number().finite(),
    log: z.boolean().default(false),
    integer: z.boolean().default(false),
  })
  .strict();
export const AxisSchema = z
  .object({
    path: z.string().min(1, 'expected a field path such as optimizer.learningRate'),
    values: z.array(z.unknown()).min(1, 'expected a non-empty list, got []').optional(),
    range: RangeSchema.optional(),
  })
  .strict();

export const SweepSchema = z
  .object({
    name: z.string().default('sweep'),
    base: z.unknown(),
    axes: z.array(AxisSchema).default([]),
    mode: z.enum(['grid', 'zip', 'random']).default('grid'),
    samples: z.number().int().positive().optional(),
    randomSeed: z.number().int().nonnegative().default(0),
    seeds: z
      .union([
        z.number().int().positive(),
        z.array(z.number().int().nonnegative()).min(1, 'expected a non-empty list, got []'),
      ])
      .default(1),
    population: z.number().int().positive().default(64),
    /**
     * Populations one job holds, run one after another (unset: as the planner finds best, several
     * only for tiny trials; 1: a population per job). Stored with the sweep, so a restarted
     * coordinator plans the same jobs. A job's telemetry batch for chunk k goes out once all its
     * populations have recorded chunk k, so the trainer holds a job's telemetry until its last
     * population runs: several populations per job are for short trials.
     */
    populationsPerJob: z.number().int().positive().max(64).optional(),
    analyzers: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** Limits a sweep must stay within (the coordinator's config sets them). */
export interface SweepLimits {
  /** @default 100000 */
  maxTrials: number;
  /** @default 1024 */
  maxPopulation: number;
  /** @default 1000000 */
  maxSteps: number;
  /** Estimated bytes of one job's working set. @default 2 GiB */
  maxJobBytes: number;
}
export const defaultLimits: SweepLimits = {
  maxTrials: 100_000,
  maxPopulation: 1024,
  maxSteps: 1_000_000,
  maxJobBytes: 2 * 1024 ** 3,
};
/** No limits: for reading back a sweep a coordinator accepted once, under its limits then. */
export const noLimits: SweepLimits = {
  maxTrials: Infinity,
  maxPopulation: Infinity,
  maxSteps: Infinity,
  maxJobBytes: Infinity,
};

export interface CompiledAxis {
  path: string;
  parts: PathPart[];
  values: unknown[];
  range?: z.output<typeof RangeSchema>;
}

export interface CompiledSweep {
  name: string;
  /** The base trial with defaults applied, as plain JSON (before axes). */
  base: z.output<typeof TrialSchema>;
  baseTrial: CompiledTrial;
  axes: CompiledAxis[];
  mode: 'grid' | 'zip' | 'random';
  samples: number;
  randomSeed: number;
  seeds: number[];
  population: number;
  /** Populations per job; undefined: the planner's choice per shape (`populationsPerJob`). */
  populationsPerJob?: number;
  analyzers: string[];
  /** Number of trials the sweep expands into. */
  trialCount: number;
}

/** Validates a sweep spec; every problem is reported at once with its path. */
export function compileSweep(input: unknown, limits: SweepLimits = defaultLimits): CompiledSweep {
  const issues: Issue[] = [];
  const raw =
    input && typeof input === 'object' && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : {};
  const parsed = SweepSchema.safeParse(input);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  const baseCheck = checkTrial(raw.base, ['base']);
  issues.push(...baseCheck.issues);
  // Go on with what can still be checked, so one run names every problem: the sweep's own
  // fields (read leniently when its schema failed), and axis paths against the base as written
  // (or, when the base is broken, against a defaulted trial of the same data kind).
  const s = parsed.success ? parsed.data : lenientSweep(raw);
  const baseParsed = baseCheck.trial ? TrialSchema.parse(raw.base) : undefined;
  const pathTemplate: unknown = baseParsed ?? templateFor(raw.base);
  const axes: CompiledAxis[] = [];
  s.axes.forEach((a, k) => {
    if (!a.path) return; // already reported by the schema
    let parts: PathPart[] = [];
    try {
      parts = parsePath(a.path);
    } catch (err) {
      issues.push({ path: `axes[${k}].path`, message: (err as Error).message });
      return;
    }
    if (!hasPath(pathTemplate, parts))
      issues.push({
        path: `axes[${k}].path`,
        message: `'${a.path}' is not a field of the base trial`,
      });
    if (parts[0] === 'id' || parts[0] === 'params' || parts[0] === 'seedIndex')
      issues.push({
        path: `axes[${k}].path`,
        message: `'${a.path}' is set by the sweep and cannot be an axis`,
      });
    if ((a.values === undefined) === (a.range === undefined))
      issues.push({ path: `axes[${k}]`, message: 'expected exactly one of values or range' });
    if (a.range && s.mode !== 'random')
      issues.push({
        path: `axes[${k}].range`,
        message: 'a range needs mode: random (use values for grid and zip)',
      });
    if (a.range && a.range.max < a.range.min)
      issues.push({
        path: `axes[${k}].range`,
        message: `max (${a.range.max}) is below min (${a.range.min})`,
      });
    if (a.range?.log && a.range.min <= 0)
      issues.push({ path: `axes[${k}].range.min`, message: 'a log range needs min > 0' });
    axes.push({ path: a.path, parts, values: a.values ?? [], range: a.range });
  });
  if (new Set(s.axes.map((a) => a.path)).size !== s.axes.length)
    issues.push({ path: 'axes', message: 'the same path is swept twice' });
  if (s.mode === 'zip' && axes.length > 1) {
    const n = axes[0]!.values.length;
    axes.forEach((a, k) => {
      if (a.values.length !== n)
        issues.push({
          path: `axes[${k}].values`,
          message: `zip needs equal lengths: axis 0 has ${n}, this has ${a.values.length}`,
        });
    });
  }
  if (s.mode === 'random' && s.samples === undefined)
    issues.push({
      path: 'samples',
      message: 'mode random needs samples (how many trials to draw)',
    });
  const seedCount = typeof s.seeds === 'number' ? s.seeds : s.seeds.length;
  if (s.population > limits.maxPopulation)
    issues.push({
      path: 'population',
      message: `at most ${limits.maxPopulation}, got ${s.population}`,
    });
  if (baseCheck.trial && baseCheck.trial.steps > limits.maxSteps)
    issues.push({
      path: 'base.steps',
      message: `at most ${limits.maxSteps}, got ${baseCheck.trial.steps}`,
    });
  const points =
    s.mode === 'grid'
      ? axes.reduce((n, a) => n * a.values.length, 1)
      : s.mode === 'zip'
        ? (axes[0]?.values.length ?? 1)
        : (s.samples ?? 1);
  const trialCount = points * seedCount;
  if (trialCount > limits.maxTrials)
    issues.push({
      path: 'axes',
      message: `the sweep expands to ${trialCount} trials, over the limit of ${limits.maxTrials}`,
    });
  // The list of seeds is built only when it fits the limit: `seeds: 4000000000` (a valid uint32
  // on the wire) once ran the coordinator out of memory before the limit was checked (the seed
  // count alone is compared too, as an axis without values makes the trial count 0).
  const seeds =
    typeof s.seeds !== 'number'
      ? s.seeds
      : trialCount > limits.maxTrials || seedCount > limits.maxTrials
        ? []
        : Array.from({ length: s.seeds }, (_, i) => i);
  if (!parsed.success || !baseCheck.trial || !baseParsed)
    throw new ValidationError(dedupe(issues), { what: 'sweep spec' });

  const sweep: CompiledSweep = {
    name: s.name,
    base: baseParsed,
    baseTrial: baseCheck.trial,
    axes,
    mode: s.mode,
    samples: s.samples ?? 0,
    randomSeed: s.randomSeed,
    seeds,
    population: s.population,
    ...(s.populationsPerJob !== undefined && { populationsPerJob: s.populationsPerJob }),
    analyzers: s.analyzers,
    trialCount,
  };
  // Every axis value must give a valid trial, and the biggest job must fit: check each axis value
  // once against the base (not the whole product, which may be huge). A sweep over the trial limit
  // is rejected anyway: its values are not checked (200,000 values took the coordinator's event
  // loop 12 s to list problems nobody could act on before shrinking the sweep).
  for (const [k, a] of trialCount > limits.maxTrials ? [] : axes.entries()) {
    if (!hasPath(baseParsed, a.parts) || a.parts.length === 0) continue;
    const probe = a.range ? [a.range.min, a.range.max] : a.values;
    for (const [j, v] of probe.entries()) {
      const t = structuredClone(baseParsed);
      setPath(t, a.parts, v);
      const r = checkTrial(t);
      for (const i of r.issues)
        issues.push({
          path: a.range ? `axes[${k}].range` : `axes[${k}].values[${j}]`,
          message: `gives an invalid trial: ${i.path}: ${i.message}`,
        });
      if (r.trial) {
        const bytes = estimateJobBytes(r.trial, Math.min(s.population, trialCount));
        if (bytes > limits.maxJobBytes)
          issues.push({
            path: a.range ? `axes[${k}].range` : `axes[${k}].values[${j}]`,
            message: `a job of this shape needs about ${fmtBytes(bytes)}, over the limit of ${fmtBytes(limits.maxJobBytes)} (lower population)`,
          });
      }
    }
  }
  const baseBytes = estimateJobBytes(baseCheck.trial, Math.min(s.population, trialCount));
  if (baseBytes > limits.maxJobBytes)
    issues.push({
      path: 'population',
      message: `a job needs about ${fmtBytes(baseBytes)}, over the limit of ${fmtBytes(limits.maxJobBytes)} (lower population)`,
    });
  if (issues.length > 0) throw new ValidationError(dedupe(issues), { what: 'sweep spec' });
  return sweep;
}

/** The sweep's fields as far as they can be read when its schema failed (for the remaining checks). */
function lenientSweep(raw: Record<string, unknown>): z.output<typeof SweepSchema> {
  const pick = <T>(schema: z.ZodType<T>, v: unknown, fallback: T): T => {
    const r = schema.safeParse(v);
    return r.success ? r.data : fallback;
  };
  // Axes keep their index (issues name axes[k]); one whose own fields are broken keeps only its path.
  const axes = Array.isArray(raw.axes)
    ? raw.axes.map((a: unknown) => {
        const r = AxisSchema.safeParse(a);
        if (r.success) return r.data;
        const path = (a as { path?: unknown } | null)?.path;
        return { path: typeof path === 'string' ? path : '', values: [null] };
      })
    : [];
  return {
    name: 'sweep',
    base: raw.base,
    axes,
    mode: pick(z.enum(['grid', 'zip', 'random']), raw.mode, 'grid'),
    samples: pick(SweepSchema.shape.samples, raw.samples, undefined),
    randomSeed: 0,
    seeds: pick<number | number[]>(
      z.union([z.number().int().positive(), z.array(z.number().int().nonnegative()).min(1)]),
      raw.seeds,
      1,
    ),
    population: pick(z.number(), raw.population, 1),
    analyzers: [],
  };
}

/** A defaulted trial with the same data kind as `base`, for checking axis paths when `base` itself is invalid. */
function templateFor(base: unknown): unknown {
  const data = (base as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const kind =
    ['features', 'gaussian', 'moons', 'inline'].find((k) => data[k] !== undefined) ?? 'features';
  const merged = { ...(base as object), data: { [kind]: data[kind] } };
  const r = TrialSchema.safeParse(merged);
  if (r.success) return r.data;
  const stub = {
    features: { n: 1, features: [{}] },
    gaussian: { n: 1, dim: 1 },
    moons: { n: 1 },
    inline: { n: 1, dim: 1, x: [0], y: [1] },
  }[kind];
  const fallback = TrialSchema.parse({ data: { [kind]: stub } }) as Record<string, unknown>;
  // Keep the user's own structure where it exists (e.g. their list of features) on top of the defaults.
  return deepMerge(fallback, base);
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (Array.isArray(b)) return b.map((v, i) => deepMerge(Array.isArray(a) ? a[i] : undefined, v));
  if (b && typeof b === 'object') {
    const out: Record<string, unknown> = {
      ...((a && typeof a === 'object' ? a : {}) as Record<string, unknown>),
    };
    for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return b === undefined ? a : b;
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter(
    (i) => !seen.has(i.path + '\0' + i.message) && seen.add(i.path + '\0' + i.message),
  );
}

function fmtBytes(b: number): string {
  return b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : `${(b / 1024 ** 2).toFixed(0)} MiB`;
}

/** Rough working set of a population job in bytes (float32): data, activations, parameters, optimizer state. */
export function estimateJobBytes(t: CompiledTrial, population: number): number {
  const n = t.data.n;
  const params = t.widths.slice(1).reduce((acc, w, i) => acc + w * (t.widths[i]! + 1), 0);
  const acts = t.widths.slice(1).reduce((acc, w) => acc + w, 0) * n;
  return 4 * (n * (t.inputDim + 1) + population * (3 * acts + 4 * params));
}

/** The sweep sampler's PRNG, re-exported where its users found it first. */
export { seededRng };

/** The axis values of each sweep point, in order (seeds not included). */
export function* sweepPoints(s: CompiledSweep): Generator<unknown[]> {
  if (s.axes.length === 0) {
    if (s.mode === 'random') for (let i = 0; i < s.samples; i++) yield [];
    else yield [];
    return;
  }
  if (s.mode === 'zip') {
    for (let i = 0; i < s.axes[0]!.values.length; i++) yield s.axes.map((a) => a.values[i]);
    return;
  }
  if (s.mode === 'random') {
    const r = seededRng(s.randomSeed);
    for (let i = 0; i < s.samples; i++) {
      yield s.axes.map((a) => {
        if (!a.range) return a.values[Math.floor(r() * a.values.length)];
        const u = r();
        const v = a.range.log
          ? Math.exp(Math.log(a.range.min) + u * (Math.log(a.range.max) - Math.log(a.range.min)))
          : a.range.min + u * (a.range.max - a.range.min);
        return a.range.integer ? Math.round(v) : v;
      });
    }
    return;
  }
  const idx = s.axes.map(() => 0);
  for (;;) {
    yield s.axes.map((a, k) => a.values[idx[k]!]);
    let k = s.axes.length - 1;
    while (k >= 0 && ++idx[k]! >= s.axes[k]!.values.length) idx[k--] = 0;
    if (k < 0) return;
  }
}

/**
 * The params of the sweep's trials by index (swept values as JSON text by axis path, and the seed),
 * without building the trials: what `trialAt(s, id, i).params` holds.
 */
export function sweepParams(s: CompiledSweep): (index: number) => Record<string, string> {
  return (index) => {
    const point = pointAt(s, Math.floor(index / s.seeds.length)) ?? [];
    return { ...axisParams(s, point), seed: String(s.seeds[index % s.seeds.length]) };
  };
}

/** A point's swept values as a trial's params hold them: JSON text by axis path. */
function axisParams(s: CompiledSweep, point: unknown[]): Record<string, string> {
  const params: Record<string, string> = {};
  s.axes.forEach((a, k) => (params[a.path] = JSON.stringify(point[k])));
  return params;
}

/** A random sweep's points, drawn once per compiled sweep (the sampler replays from its seed). */
const drawnPoints = new WeakMap<CompiledSweep, unknown[][]>();

/**
 * The axis values of point `pointIndex`: grid and zip points computed directly (mixed radix over
 * the axes), random ones from the sampler's points in order, drawn on first use and kept.
 */
function pointAt(s: CompiledSweep, pointIndex: number): unknown[] | undefined {
  if (s.mode === 'zip') return s.axes.map((a) => a.values[pointIndex]);
  if (s.mode === 'random') {
    let drawn = drawnPoints.get(s);
    if (!drawn) drawnPoints.set(s, (drawn = [...sweepPoints(s)]));
    return drawn[pointIndex];
  }
  let rest = pointIndex;
  const point = new Array<unknown>(s.axes.length);
  for (let k = s.axes.length - 1; k >= 0; k--) {
    const n = s.axes[k]!.values.length;
    point[k] = s.axes[k]!.values[rest % n];
    rest = Math.floor(rest / n);
  }
  return point;
}

/** Index of a trial in its sweep, from its id (see `trialId`); -1 when the id is not of that form. */
export function trialIndex(id: string): number {
  const m = /-t(\d+)$/.exec(id);
  return m ? Number(m[1]) : -1;
}

/** The trial at `index` without expanding the sweep (random points by replaying the sampler). */
export function trialAt(
  s: CompiledSweep,
  sweepId: string,
  index: number,
): CompiledTrial | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= s.trialCount) return undefined;
  const seedIndex = index % s.seeds.length;
  const point = pointAt(s, Math.floor(index / s.seeds.length));
  return buildTrial(s, sweepId, point ?? [], index, seedIndex);
}

function buildTrial(
  s: CompiledSweep,
  sweepId: string,
  point: unknown[],
  index: number,
  seedIndex: number,
): CompiledTrial {
  return buildPointTrial(s, sweepId, point, index, seedIndex).trial;
}

/** A trial, and whether its spec sets the data seed (else the data seed is the trial seed). */
function buildPointTrial(
  s: CompiledSweep,
  sweepId: string,
  point: unknown[],
  index: number,
  seedIndex: number,
): { trial: CompiledTrial; dataSeedFixed: boolean } {
  const withAxes = structuredClone(s.base);
  s.axes.forEach((a, k) => setPath(withAxes, a.parts, point[k]));
  const params = axisParams(s, point);
  const seed = s.seeds[seedIndex]!;
  const id = trialId(sweepId, index);
  const r = checkTrial({
    ...withAxes,
    id,
    seed,
    seedIndex,
    params: { ...params, seed: String(seed) },
  });
  if (!r.trial)
    throw new ValidationError(
      r.issues.map((i) => ({
        path: `trial ${id} (${formatParams(params)}).${i.path}`,
        message: i.message,
      })),
      { what: 'sweep spec' },
    );
  const data = (withAxes as { data?: { seed?: unknown } }).data;
  return { trial: r.trial, dataSeedFixed: data?.seed !== undefined };
}

/** Trial id of the i-th trial of a sweep: stable, sortable, unique. */
export function trialId(sweepId: string, index: number): string {
  return `${sweepId}-t${String(index).padStart(6, '0')}`;
}

/**
 * A sweep point with its trial at seed index 0 built and checked: the point's other trials differ
 * from that one only in id, seed, seed index, the seed param and (unless the spec fixes it) the
 * data seed, all checked uint32s or derived from the index, so they are derived without a check.
 */
export interface SweepPoint {
  /** Position of the point in the sweep: its trials are `index * seeds + seedIndex`. */
  index: number;
  /** The point's trial at seed index 0. */
  first: CompiledTrial;
  /** Whether the spec fixes the data seed (else each trial's data seed is its own seed). */
  dataSeedFixed: boolean;
}

/** The sweep's points in order, each with its first trial built and checked (see `SweepPoint`). */
export function* sweepPointTrials(s: CompiledSweep, sweepId: string): Generator<SweepPoint> {
  let index = 0;
  for (const point of sweepPoints(s)) {
    const built = buildPointTrial(s, sweepId, point, index * s.seeds.length, 0);
    yield { index: index++, first: built.trial, dataSeedFixed: built.dataSeedFixed };
  }
}

/** The trial of point `p` at `seedIndex`, derived from the point's first trial. */
export function pointTrial(
  p: SweepPoint,
  sweepId: string,
  seedCount: number,
  seedIndex: number,
  seed: number,
): CompiledTrial {
  if (seedIndex === 0 && seed === p.first.seed) return p.first;
  return {
    ...p.first,
    id: trialId(sweepId, p.index * seedCount + seedIndex),
    seed,
    seedIndex,
    params: { ...p.first.params, seed: String(seed) },
    data: p.dataSeedFixed ? p.first.data : { ...p.first.data, seed },
  };
}

/**
 * Expands a compiled sweep into its trials, in a stable order (seeds innermost, so trials that
 * differ only by seed are neighbours). A trial whose axis values combine into an invalid spec
 * raises a ValidationError naming the trial.
 */
export function* expandSweep(s: CompiledSweep, sweepId: string): Generator<CompiledTrial> {
  // Only each point's first trial is built and checked (schema checks were 70% of a submit).
  for (const p of sweepPointTrials(s, sweepId))
    for (let seedIndex = 0; seedIndex < s.seeds.length; seedIndex++)
      yield pointTrial(p, sweepId, s.seeds.length, seedIndex, s.seeds[seedIndex]!);
}

function formatParams(p: Record<string, string>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/**
 * The structural shape of a trial: what must be equal for trials to run as one population
 * (dimensions, architecture, loss and optimizer kinds, steps, what is recorded). Values such as the
 * learning rate, the initial scale, the data's values and the seed may differ inside a population.
 */
export function shapeKey(t: CompiledTrial): string {
  return JSON.stringify([
    t.data.n,
    t.widths,
    t.model.kind,
    t.model.bias,
    t.model.trainable,
    t.model.biasTrainable,
    t.loss.kind,
    t.loss.reduction,
    t.optimizer.kind,
    t.optimizer.batchSize,
    t.steps,
    t.record.steps,
    t.record.every,
    t.record.logPoints,
    [...t.quantities].sort(),
    t.record.probes.length,
  ]);
}

export interface PlannedJob {
  jobId: string;
  shape: string;
  trials: CompiledTrial[];
}

/**
 * Groups trials into jobs of one shape and at most `population` trials, streaming. The coordinator
 * plans with `planSweepJobs`, without building trials; this is the reference it is tested against.
 */
export function* planJobs(
  trials: Iterable<CompiledTrial>,
  sweepId: string,
  population: number,
): Generator<PlannedJob> {
  const open = new Map<string, CompiledTrial[]>();
  let n = 0;
  const job = (shape: string, ts: CompiledTrial[]): PlannedJob => ({
    jobId: `${sweepId}-j${String(n++).padStart(5, '0')}`,
    shape,
    trials: ts,
  });
  for (const t of trials) {
    const key = shapeKey(t);
    const bucket = open.get(key) ?? [];
    bucket.push(t);
    if (bucket.length >= population) {
      open.delete(key);
      yield job(key, bucket);
    } else open.set(key, bucket);
  }
  for (const [key, bucket] of open) yield job(key, bucket);
}
