/**
 * Conversion between specs and their protobuf form. The spec's field names are the protobuf JSON
 * names, so the only work is the enums (`relu` <-> `MODEL_KIND_RELU`), the `data` oneof and the
 * axis values (JSON text on the wire).
 */
import { v1, toPlain } from '@dynlab/proto';
import { checkTrial, trialToInput, type CompiledTrial } from './compiled-trial';
import type { CompiledSweep } from './sweep';
import type { ParsedTrial } from './trial-schema';
import { ValidationError } from '@dynlab/core';

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
      const msg = trialToProto(t);
      templates.push(
        v1.TrialSpec.create({
          ...msg,
          id: '',
          seed: 0,
          seedIndex: 0,
          data: v1.DataSpec.create({ ...msg.data, seed: undefined }),
        }),
      );
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

/**
 * A job's trials from the wire, validated, in either form: in full (`trialsFromProto`) or compact
 * (each template checked once, with its first trial's own fields; the rest derived from it, as
 * their own fields are strings and uint32s that cannot be invalid). Throws a ValidationError
 * naming the job field at fault.
 */
export function jobTrialsFromProto(job: v1.IJob): CompiledTrial[] {
  const templates = job.templates ?? [];
  const refs = job.refs ?? [];
  if (templates.length === 0 && refs.length === 0) return trialsFromProto(job.trials ?? []);
  if ((job.trials ?? []).length > 0)
    throw new ValidationError(
      [{ path: 'job.trials', message: 'a job has trials or templates and refs, not both' }],
      { what: 'job message' },
    );
  const firsts: (CompiledTrial | undefined)[] = [];
  return refs.map((ref, i) => {
    const k = ref.template ?? 0;
    const template = templates[k];
    if (!template)
      throw new ValidationError(
        [
          {
            path: `job.refs[${i}].template`,
            message: `no template ${k} (${templates.length} sent)`,
          },
        ],
        { what: 'job message' },
      );
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

/** A job's trials as full wire messages, whatever form the job came in (for dead letters and tools). */
export function jobTrialMessages(job: v1.IJob): v1.ITrialSpec[] {
  const templates = job.templates ?? [];
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
  if (msg.analyzers?.length) spec.analyzers = [...msg.analyzers];
  return spec;
}
