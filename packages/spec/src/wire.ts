/**
 * Conversion between specs and their protobuf form. The spec's field names are the protobuf JSON
 * names, so the only work is the enums (`relu` <-> `MODEL_KIND_RELU`), the `data` oneof and the
 * axis values (JSON text on the wire).
 */
import { v1, toPlain } from '@dynlab/proto';
import { checkTrial, trialToInput, type CompiledTrial } from './compiled-trial';
import type { JobPlan } from './job-plan';
import { trialId, trialIndex, type CompiledSweep, type SweepPoint } from './sweep';
import type { ParsedTrial } from './trial-schema';
import { ValidationError, type Issue } from '@dynlab/core';

const enumFields: Record<string, string> = {
  'model.kind': 'MODEL_KIND',
  'init.kind': 'INIT_KIND',
  'loss.kind': 'LOSS_KIND',
  'loss.reduction': 'REDUCTION',
  'optimizer.kind': 'OPTIMIZER_KIND',
  'record.quantities': 'QUANTITY',
};

/** `deepLinear` -> `MODEL_KIND_DEEP_LINEAR`. */
export function toEnumName(prefix: string, short: string): string {
  return `${prefix}_${short.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()}`;
}
/** `MODEL_KIND_DEEP_LINEAR` -> `deepLinear`. */
export function fromEnumName(prefix: string, name: string): string {
  return name
    .slice(prefix.length + 1)
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function mapEnums(obj: Record<string, unknown>, fn: (prefix: string, v: string) => string): void {
  for (const [path, prefix] of Object.entries(enumFields)) {
    const [a, b] = path.split('.') as [string, string];
    const sub = obj[a] as Record<string, unknown> | undefined;
    if (!sub || sub[b] === undefined) continue;
    const v = sub[b];
    sub[b] = Array.isArray(v) ? v.map((x) => fn(prefix, String(x))) : fn(prefix, String(v));
  }
}

/** The wire trial as the plain spec a user writes: short enum names, only the set data member. */
function plainTrial(msg: v1.TrialSpec): Record<string, unknown> {
  const plain = toPlain(v1.TrialSpec, msg);
  const data = plain.data as Record<string, unknown> | null;
  if (data) {
    const kind = data.kind as string | undefined;
    const seed = data.seed;
    for (const k of Object.keys(data)) if (k !== kind) delete data[k];
    if (typeof seed === 'number') data.seed = seed;
  }
  mapEnums(plain, (prefix, v) => (v.startsWith(prefix) ? fromEnumName(prefix, v) : v));
  return plain;
}

/** A compiled trial as its wire message. */
export function trialToProto(t: CompiledTrial): v1.TrialSpec {
  return parsedTrialToProto(trialToInput(t));
}

const seedFields = new Set(['id', 'seed', 'seedIndex', 'params', 'data']);

/** Whether two trials are the same objects but for their seed fields (and the data's seed). */
function sameButSeed(a: CompiledTrial, b: CompiledTrial): boolean {
  const same = (x: object, y: object, skip: (k: string) => boolean) => {
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    const rx = x as Record<string, unknown>;
    const ry = y as Record<string, unknown>;
    return kx.every((k) => skip(k) || rx[k] === ry[k]);
  };
  return same(a, b, (k) => seedFields.has(k)) && same(a.data, b.data, (k) => k === 'seed');
}

/** A parsed (defaulted, not compiled) trial as its wire message; `data.seed` stays unset when unset. */
export function parsedTrialToProto(t: ParsedTrial): v1.TrialSpec {
  const plain = structuredClone(t) as unknown as Record<string, unknown>;
  mapEnums(plain, toEnumName);
  return v1.TrialSpec.fromObject(plain);
}

/** A wire trial back to a compiled trial (validated: the sender may be another version). */
export function trialFromProto(msg: v1.ITrialSpec): CompiledTrial {
  const plain = plainTrial(
    msg instanceof v1.TrialSpec ? msg : v1.TrialSpec.fromObject(msg as Record<string, unknown>),
  );
  const { trial, issues } = checkTrial(plain);
  if (!trial) throw new ValidationError(issues, { what: 'trial message' });
  return trial;
}

/**
 * Trials in the full wire form, validated like `trialFromProto` but each distinct trial body once
 * (a body seen in a recent job is not checked again): trials that differ only in id, seed, seed
 * index and params share one check. Those four fields cannot be invalid on the wire (strings and
 * uint32s), and the only thing compiling does with the seed is to default the data seed to it.
 */
export function trialsFromProto(msgs: readonly v1.ITrialSpec[]): CompiledTrial[] {
  return msgs.map((m) => {
    const msg =
      m instanceof v1.TrialSpec ? m : v1.TrialSpec.fromObject(m as Record<string, unknown>);
    // A data seed equal to the trial seed (how compiled trials are sent) is part of the seed.
    const dataSeed = msg.data?.seed ?? msg.seed;
    const data = msg.data && dataSeed === msg.seed ? { ...msg.data, seed: undefined } : msg.data;
    const first = checkedBody(
      v1.TrialSpec.encode({ ...msg, id: '', seed: 0, seedIndex: 0, params: {}, data }).finish(),
      () => trialFromProto(msg),
    );
    return {
      ...first,
      id: msg.id,
      seed: msg.seed,
      seedIndex: msg.seedIndex,
      params: { ...msg.params },
      data: { ...first.data, seed: dataSeed },
    };
  });
}

/**
 * Trial bodies checked lately, across calls: the jobs of one sweep point follow each other, and a
 * full check of a trial costs about a millisecond (a tenth of a small job). Compiled trials are
 * never changed once built, so sharing them is safe.
 */
const recentBodies = new Map<string, CompiledTrial>();
const recentBodiesMax = 256;

/** Bodies larger than this (inline data) are not kept: 256 of them could fill the heap. */
const recentBodyMaxBytes = 16 * 1024;

/** The compiled trial of an encoded body: from the recent ones, or `check` (and then kept). */
function checkedBody(body: Uint8Array, check: () => CompiledTrial): CompiledTrial {
  const key = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  const known = recentBodies.get(key);
  if (known) return known;
  const trial = check();
  if (key.length > recentBodyMaxBytes) return trial;
  recentBodies.set(key, trial);
  // Bounded: the oldest body goes first (a Map iterates in insertion order).
  if (recentBodies.size > recentBodiesMax) recentBodies.delete(recentBodies.keys().next().value!);
  return trial;
}

/**
 * A job's trials in the compact wire form: one template per run of trials that differ only in
 * id, seed, seed index, data seed and params values (the seeds of one sweep point), one ref each.
 * No service sends this form any more (jobs go out as ranges); it makes the jobs of older
 * coordinators that the tests read back.
 */
export function compactJobTrials(trials: readonly CompiledTrial[]): {
  templates: v1.TrialSpec[];
  refs: v1.ITrialRef[];
} {
  const templates: v1.TrialSpec[] = [];
  const refs: v1.ITrialRef[] = [];
  let first: CompiledTrial | undefined;
  for (const t of trials) {
    const sameKeys = first && Object.keys(first.params).every((k) => k in t.params);
    if (!first || !sameKeys || !sameButSeed(first, t)) {
      first = t;
      templates.push(trialTemplate(t));
    }
    const base = first.params;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(t.params)) if (base[k] !== v) params[k] = v;
    refs.push({
      template: templates.length - 1,
      id: t.id,
      seed: t.seed,
      seedIndex: t.seedIndex,
      dataSeed: t.data.seed,
      params,
    });
  }
  return { templates, refs };
}

/** Wire templates of sweep points, made once per point however many jobs it spans. */
const pointTemplates = new WeakMap<SweepPoint, v1.TrialSpec>();

/** A trial as a template: its wire message without id, seed, seed index and data seed. */
function trialTemplate(t: CompiledTrial): v1.TrialSpec {
  const msg = trialToProto(t);
  return v1.TrialSpec.create({
    ...msg,
    id: '',
    seed: 0,
    seedIndex: 0,
    data: v1.DataSpec.create({ ...msg.data, seed: undefined }),
  });
}

/** A point's template: its first trial without the fields each trial has of its own. */
function pointTemplate(p: SweepPoint): v1.TrialSpec {
  let t = pointTemplates.get(p);
  if (!t) {
    const { seed: _seed, ...params } = p.first.params;
    pointTemplates.set(p, (t = trialTemplate({ ...p.first, params })));
  }
  return t;
}

/** A planned job as its wire message: a template per sweep point it holds, a range per run. */
export function jobToProto(sweepId: string, job: JobPlan): v1.IJob {
  const templates: v1.TrialSpec[] = [];
  const at = new Map<SweepPoint, number>();
  const ranges = job.runs.map((r): v1.ITrialRange => {
    let template = at.get(r.point);
    if (template === undefined) {
      at.set(r.point, (template = templates.length));
      templates.push(pointTemplate(r.point));
    }
    return {
      template,
      firstIndex: r.firstIndex,
      firstSeedIndex: r.firstSeedIndex,
      seeds: r.seeds,
      dataSeedFixed: r.point.dataSeedFixed,
      dataSeed: r.point.dataSeedFixed ? r.point.first.data.seed : 0,
    };
  });
  return {
    jobId: job.jobId,
    sweepId,
    shape: job.shape,
    templates,
    ranges,
    // Only when the job holds several populations: a job of one reads the same to any trainer.
    population: job.trialCount > job.population ? job.population : 0,
  };
}

function jobIssue(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }], { what: 'job message' });
}

/** A trial's own fields in a range: all derived from its position. */
function rangeTrial(sweepId: string, template: v1.ITrialSpec, r: v1.ITrialRange, k: number) {
  const seed = r.seeds![k]!;
  return {
    id: trialId(sweepId, (r.firstIndex ?? 0) + k),
    seed,
    seedIndex: (r.firstSeedIndex ?? 0) + k,
    params: { ...(template.params ?? {}), seed: String(seed) },
    dataSeed: r.dataSeedFixed ? (r.dataSeed ?? 0) : seed,
  };
}

/** The trials of a job's ranges (each template checked once; see `jobTrialsFromProto`). */
function rangeTrials(job: v1.IJob, templates: v1.ITrialSpec[]): CompiledTrial[] {
  const firsts: (CompiledTrial | undefined)[] = [];
  const out: CompiledTrial[] = [];
  (job.ranges ?? []).forEach((r, i) => {
    const k = r.template ?? 0;
    const template = templates[k];
    if (!template)
      throw jobIssue(`job.ranges[${i}].template`, `no template ${k} (${templates.length} sent)`);
    if (!r.seeds?.length) throw jobIssue(`job.ranges[${i}].seeds`, 'expected at least one seed');
    if ((r.firstIndex ?? 0) + r.seeds.length > 2 ** 32)
      throw jobIssue(`job.ranges[${i}].firstIndex`, 'the range runs past the last trial index');
    for (let j = 0; j < r.seeds.length; j++) {
      const { dataSeed, ...own } = rangeTrial(job.sweepId ?? '', template, r, j);
      const first = (firsts[k] ??= checkedBody(v1.TrialSpec.encode(template).finish(), () =>
        trialFromProto({ ...template, ...own, data: { ...(template.data ?? {}), seed: dataSeed } }),
      ));
      out.push({ ...first, ...own, data: { ...first.data, seed: dataSeed } });
    }
  });
  return out;
}

/**
 * A job's trials from the wire, validated, in any of its forms: in full (`trialsFromProto`), or
 * compact with refs or ranges (each template checked once, with its first trial's own fields; the
 * rest derived from it, as their own fields are strings and uint32s that cannot be invalid).
 * Throws a ValidationError naming the job field at fault.
 */
export function jobTrialsFromProto(job: v1.IJob): CompiledTrial[] {
  const templates = job.templates ?? [];
  const refs = job.refs ?? [];
  const ranges = job.ranges ?? [];
  const forms = [(job.trials ?? []).length, refs.length, ranges.length].filter((n) => n > 0);
  if (forms.length > 1)
    throw jobIssue('job', 'a job has one of trials, refs and ranges, not several');
  if (ranges.length > 0) return rangeTrials(job, templates);
  if (templates.length === 0 && refs.length === 0) return trialsFromProto(job.trials ?? []);
  const firsts: (CompiledTrial | undefined)[] = [];
  return refs.map((ref, i) => {
    const k = ref.template ?? 0;
    const template = templates[k];
    if (!template)
      throw jobIssue(`job.refs[${i}].template`, `no template ${k} (${templates.length} sent)`);
    const params = { ...(template.params ?? {}), ...(ref.params ?? {}) };
    const dataSeed = ref.dataSeed ?? 0;
    const own = {
      id: ref.id ?? '',
      seed: ref.seed ?? 0,
      seedIndex: ref.seedIndex ?? 0,
      params,
    };
    // Checked once per template, and not again for a template seen in a recent job.
    const first = (firsts[k] ??= checkedBody(v1.TrialSpec.encode(template).finish(), () =>
      trialFromProto({ ...template, ...own, data: { ...(template.data ?? {}), seed: dataSeed } }),
    ));
    return { ...first, ...own, data: { ...first.data, seed: dataSeed } };
  });
}

/** A job's trials as full wire messages, whatever form the job came in (for tools and tests). */
export function jobTrialMessages(job: v1.IJob): v1.ITrialSpec[] {
  const templates = job.templates ?? [];
  if ((job.ranges ?? []).length > 0)
    return (job.ranges ?? []).flatMap((r) => {
      const template = templates[r.template ?? 0] ?? {};
      return (r.seeds ?? []).map((_, k) => {
        const { dataSeed, ...own } = rangeTrial(job.sweepId ?? '', template, r, k);
        return { ...template, ...own, data: { ...(template.data ?? {}), seed: dataSeed } };
      });
    });
  const refs = job.refs ?? [];
  if (refs.length === 0) return job.trials ?? [];
  return refs.map((ref) => {
    const template = templates[ref.template ?? 0] ?? {};
    return {
      ...template,
      id: ref.id,
      seed: ref.seed,
      seedIndex: ref.seedIndex,
      params: { ...(template.params ?? {}), ...(ref.params ?? {}) },
      data: { ...(template.data ?? {}), seed: ref.dataSeed },
    };
  });
}

/** The sweep index of each trial of a job, whatever its form (-1 for an id not of a sweep). */
export function jobTrialIndices(job: v1.IJob): number[] {
  if ((job.ranges ?? []).length > 0)
    return (job.ranges ?? []).flatMap((r) =>
      (r.seeds ?? []).map((_, k) => (r.firstIndex ?? 0) + k),
    );
  if ((job.refs ?? []).length > 0) return (job.refs ?? []).map((r) => trialIndex(r.id ?? ''));
  return (job.trials ?? []).map((t) => trialIndex(t.id ?? ''));
}

/** One trial's outcome, as a columnar JobResult holds it. */
export interface TrialOutcomeEntry {
  /** The trial's index in its sweep. */
  index: number;
  status: v1.TrialStatus;
  finalLoss: number;
  finalError: number;
  stepsDone: number;
  telemetryChunks: number;
  telemetryPoints: number;
  error?: v1.IErrorInfo | null;
}

/** A job's outcomes as a columnar JobResult (see telemetry.proto). */
export function jobResultToProto(o: {
  sweepId: string;
  jobId: string;
  instance: string;
  backend: string;
  wallS: number;
  trials: readonly TrialOutcomeEntry[];
  /** The error of every failed trial without its own. */
  jobError?: v1.IErrorInfo | null;
}): v1.IJobResult {
  const n = o.trials.length;
  const col = <T>(f: (t: TrialOutcomeEntry) => T) => o.trials.map(f);
  const statuses = new Uint8Array(n);
  o.trials.forEach((t, i) => (statuses[i] = t.status));
  return {
    sweepId: o.sweepId,
    jobId: o.jobId,
    instance: o.instance,
    backend: o.backend,
    wallS: o.wallS,
    trialIndices: col((t) => t.index),
    statuses,
    finalLoss: col((t) => t.finalLoss),
    finalError: col((t) => t.finalError),
    stepsDone: col((t) => t.stepsDone),
    telemetryChunks: col((t) => t.telemetryChunks),
    telemetryPoints: col((t) => t.telemetryPoints),
    errors: o.trials.flatMap((t, position) => (t.error ? [{ position, error: t.error }] : [])),
    jobError: o.jobError ?? null,
  };
}

/**
 * The outcomes of a JobResult's trials by sweep index and status, checked: every column as long as
 * the trial list, statuses known. Either form; the full form's trial ids must be of the sweep.
 */
export function jobResultOutcomes(r: v1.IJobResult): { index: number; status: v1.TrialStatus }[] {
  const issues: Issue[] = [];
  const statusOk = (s: number) =>
    s !== v1.TrialStatus.TRIAL_STATUS_UNSPECIFIED && !!v1.TrialStatus[s];
  let out: { index: number; status: v1.TrialStatus }[];
  const indices = r.trialIndices ?? [];
  if (indices.length > 0) {
    if ((r.results ?? []).length > 0)
      issues.push({
        path: 'result.results',
        message: 'a result is columnar or has results, not both',
      });
    const statuses = r.statuses ?? new Uint8Array(0);
    const columns = {
      statuses,
      finalLoss: r.finalLoss ?? [],
      finalError: r.finalError ?? [],
      stepsDone: r.stepsDone ?? [],
      telemetryChunks: r.telemetryChunks ?? [],
      telemetryPoints: r.telemetryPoints ?? [],
    };
    for (const [name, c] of Object.entries(columns))
      if (c.length !== indices.length)
        issues.push({
          path: `result.${name}`,
          message: `${c.length} entries for ${indices.length} trials`,
        });
    for (const e of r.errors ?? [])
      if ((e.position ?? 0) >= indices.length)
        issues.push({
          path: 'result.errors',
          message: `position ${e.position} past the ${indices.length} trials`,
        });
    out = indices.map((index, i) => {
      const status = statuses[i] ?? 0;
      if (!statusOk(status))
        issues.push({ path: `result.statuses[${i}]`, message: `no such status ${status}` });
      return { index, status };
    });
  } else {
    out = (r.results ?? []).map((t, i) => {
      const status = t.status ?? v1.TrialStatus.TRIAL_STATUS_UNSPECIFIED;
      if (!statusOk(status))
        issues.push({ path: `result.results[${i}].status`, message: `no such status ${status}` });
      const index = trialIndex(t.trialId ?? '');
      if (t.sweepId !== r.sweepId || index < 0 || trialId(r.sweepId ?? '', index) !== t.trialId)
        issues.push({
          path: `result.results[${i}].trialId`,
          message: `'${t.trialId}' is not a trial of sweep '${r.sweepId}'`,
        });
      return { index, status };
    });
  }
  if (out.length === 0) issues.push({ path: 'result', message: 'no trials' });
  if (issues.length > 0) throw new ValidationError(issues.slice(0, 20), { what: 'job result' });
  return out;
}

/** A JobResult's trials one by one, as `TrialResult`s, whatever its form (checked as `jobResultOutcomes`). */
export function jobResultTrials(r: v1.IJobResult): v1.TrialResult[] {
  const outcomes = jobResultOutcomes(r);
  if ((r.trialIndices ?? []).length === 0)
    return (r.results ?? []).map((t) => v1.TrialResult.fromObject(t));
  const errors = new Map((r.errors ?? []).map((e) => [e.position ?? 0, e.error]));
  const failed = v1.TrialStatus.TRIAL_STATUS_FAILED;
  return outcomes.map(({ index, status }, i) =>
    v1.TrialResult.create({
      sweepId: r.sweepId ?? '',
      trialId: trialId(r.sweepId ?? '', index),
      status,
      finalLoss: r.finalLoss![i],
      finalError: r.finalError![i],
      stepsDone: r.stepsDone![i],
      backend: r.backend ?? '',
      wallS: r.wallS ?? 0,
      error: errors.get(i) ?? (status === failed ? (r.jobError ?? null) : null),
      telemetryChunks: r.telemetryChunks![i],
      telemetryPoints: r.telemetryPoints![i],
      jobId: r.jobId ?? '',
      instance: r.instance ?? '',
    }),
  );
}

/** A compiled sweep as its wire message (the base with defaults applied). */
export function sweepToProto(s: CompiledSweep): v1.SweepSpec {
  return v1.SweepSpec.create({
    name: s.name,
    base: parsedTrialToProto(s.base),
    axes: s.axes.map((a) =>
      v1.Axis.create({
        path: a.path,
        valuesJson: a.values.map((v) => JSON.stringify(v)),
        range: a.range ? v1.Range.create(a.range) : null,
      }),
    ),
    mode:
      s.mode === 'grid'
        ? v1.AxisMode.AXIS_MODE_GRID
        : s.mode === 'zip'
          ? v1.AxisMode.AXIS_MODE_ZIP
          : v1.AxisMode.AXIS_MODE_RANDOM,
    samples: s.samples,
    randomSeed: s.randomSeed,
    seeds: s.seeds,
    seedCount: 0,
    population: s.population,
    analyzers: s.analyzers,
    populationsPerJob: s.populationsPerJob ?? 0,
  });
}

/**
 * A wire sweep back to the plain spec a user would have written, for the authoritative
 * validation at the coordinator (`compileSweep`). Malformed axis JSON is reported per axis.
 */
export function sweepFromProto(msg: v1.ISweepSpec): Record<string, unknown> {
  const issues: { path: string; message: string }[] = [];
  let base: unknown = undefined;
  if (msg.base) {
    const plain = plainTrial(v1.TrialSpec.fromObject(msg.base as Record<string, unknown>));
    delete plain.id;
    base = plain;
  }
  const axes = (msg.axes ?? []).map((a, k) => {
    const out: Record<string, unknown> = { path: a.path ?? '' };
    if (a.range)
      out.range = {
        min: a.range.min ?? 0,
        max: a.range.max ?? 0,
        log: !!a.range.log,
        integer: !!a.range.integer,
      };
    else
      out.values = (a.valuesJson ?? []).map((j, i) => {
        try {
          return JSON.parse(j) as unknown;
        } catch {
          issues.push({
            path: `axes[${k}].values[${i}]`,
            message: `not valid JSON: ${j.slice(0, 40)}`,
          });
          return null;
        }
      });
    return out;
  });
  if (issues.length > 0) throw new ValidationError(issues, { what: 'sweep spec' });
  const modes: Record<number, string> = { 1: 'grid', 2: 'zip', 3: 'random' };
  const spec: Record<string, unknown> = {
    name: msg.name || 'sweep',
    base,
    axes,
    mode: modes[msg.mode ?? 1] ?? 'grid',
  };
  if (msg.samples) spec.samples = msg.samples;
  if (msg.randomSeed) spec.randomSeed = msg.randomSeed;
  spec.seeds = msg.seeds && msg.seeds.length > 0 ? [...msg.seeds] : msg.seedCount || 1;
  if (msg.population) spec.population = msg.population;
  if (msg.populationsPerJob) spec.populationsPerJob = msg.populationsPerJob;
  if (msg.analyzers?.length) spec.analyzers = [...msg.analyzers];
  return spec;
}
