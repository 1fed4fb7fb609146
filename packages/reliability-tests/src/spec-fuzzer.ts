/**
 * Generated and mutated sweep specs for the fuzz test, from a seeded PRNG so that a failure is
 * reproducible from its seed. Mutations start from small valid examples (every data kind and axis
 * mode) and break them the ways people and old clients do: a key dropped, misspelt or duplicated
 * under another name, a value of the wrong type, numbers out of range (negative, zero, 4e9, 1e308,
 * fractions where integers belong), axis paths that are not fields, arrays made huge, and NaN or
 * Infinity where JSON cannot carry them. The wire mutations do the same to the protobuf form
 * (enum numbers out of range, NaN doubles, broken axis JSON, uint32 extremes).
 */
import { v1 } from '@dynlab/proto';
import { toEnumName } from '@dynlab/spec';

/** A seeded PRNG (mulberry32): a function returning uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32 from `seed` (the sweep sampler's own generator). */
export { seededRng } from '@dynlab/spec';

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Small valid sweeps: every data kind, every axis mode, explicit seeds, ranges. */
export function validExamples(): Record<string, unknown>[] {
  const features = {
    features: { n: 16, features: [{ frequency: 1 }, { frequency: 0.5, norm: 2 }] },
  };
  return [
    {
      name: 'grid',
      base: {
        data: features,
        model: { kind: 'relu', hidden: [4] },
        steps: 20,
        record: { logPoints: 5 },
      },
      axes: [{ path: 'optimizer.learningRate', values: [0.1, 0.5] }],
      seeds: 2,
      // Two populations of two in one job: a packed job among the runs.
      population: 2,
      populationsPerJob: 2,
    },
    {
      name: 'zip',
      base: {
        data: { gaussian: { n: 12, dim: 3, scales: [1, 2, 3] } },
        model: { kind: 'deepLinear', hidden: [3, 3] },
        loss: { kind: 'hinge', margin: 1 },
        steps: 10,
      },
      mode: 'zip',
      axes: [
        { path: 'init.scale', values: [0.01, 0.1, 1] },
        { path: 'optimizer.learningRate', values: [0.1, 0.2, 0.3] },
      ],
      seeds: [3, 7],
    },
    {
      name: 'random',
      base: {
        data: { moons: { n: 20, noise: 0.1 } },
        model: { kind: 'relu', hidden: [8], bias: true },
        optimizer: { kind: 'adam', learningRate: 0.01 },
        steps: 15,
      },
      mode: 'random',
      samples: 3,
      randomSeed: 5,
      axes: [{ path: 'optimizer.learningRate', range: { min: 0.001, max: 0.1, log: true } }],
    },
    {
      name: 'inline',
      base: {
        data: { inline: { n: 4, dim: 2, x: [1, 0, 0, 1, -1, 0, 0, -1], y: [1, 1, -1, -1] } },
        model: { kind: 'linear' },
        loss: { kind: 'squared' },
        record: { probes: [{ name: 'p', x: [1, 1] }], quantities: ['loss', 'error'] },
        steps: 10,
      },
      axes: [{ path: 'data.inline.x[0]', values: [1, 2] }],
    },
    {
      name: 'starvation',
      base: {
        data: {
          features: { n: 32, features: [{ frequency: 1 }, { frequency: 0.25 }], labelNoise: 0.1 },
        },
        model: { kind: 'relu', hidden: [4] },
        regularizer: { spectralDecoupling: 0.01 },
        optimizer: { kind: 'sgd', batchSize: 8 },
        steps: 25,
      },
      axes: [
        { path: 'model.hidden', values: [[4], [8]] },
        { path: 'data.features.features[1].knockedOut', values: [false, true] },
      ],
      population: 2,
    },
  ];
}

type Json = unknown;

/** Every path (list of keys and indices) to a value inside `v`, the root included. */
function paths(
  v: Json,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function getAt(v: Json, p: (string | number)[]): Json {
  return p.reduce<Json>((o, k) => (o as Record<string | number, Json>)?.[k], v);
}

function setAt(root: Json, p: (string | number)[], value: Json, remove = false): Json {
  if (p.length === 0) return value;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const k = p[p.length - 1]!;
  if (remove) {
    if (Array.isArray(parent)) parent.splice(Number(k), 1);
    else delete (parent as Record<string | number, Json>)[k];
  } else (parent as Record<string | number, Json>)[k] = value;
  return root;
}

const outOfRange = [-1, 0, -0.5, 0.5, 1.5, 4e9, 2 ** 53, 1e308, -1e308, 5e-324, 1e7, 1e9];
const jsonUnsafe = [NaN, Infinity, -Infinity];
const badPaths = [
  'optimizer.learningRat',
  'data.features.features[99].frequency',
  'model',
  'model.hidden[0][1]',
  'id',
  'params',
  'seedIndex',
  'x..y',
  '',
  'data.gaussian.dim',
  'steps[0]',
  'record.probes[0].x',
  '__proto__.polluted',
  'constructor.prototype',
];

function retype(r: Rng, v: Json): Json {
  if (typeof v === 'number') return pick(r, [String(v), [v], { value: v }, v > 0, null]);
  if (typeof v === 'string') return pick(r, [42, [v], { v }, true, null, v.toUpperCase(), `${v} `]);
  if (typeof v === 'boolean') return pick(r, ['true', 1, [v], null]);
  if (Array.isArray(v)) return pick(r, [{ ...v }, v.length, JSON.stringify(v), null, v[0]]);
  if (v && typeof v === 'object') return pick(r, [[v], Object.values(v), 'object', 0, null]);
  return pick(r, [0, 'null', [], {}]);
}

/** One mutation of a (cloned) spec; see the module header. */
function mutateOnce(r: Rng, spec: Json): Json {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return spec;
  const all = paths(spec).filter((q) => q.length > 0);
  if (all.length === 0) return spec;
  const p = pick(r, all);
  const cur = getAt(spec, p);
  switch (Math.floor(r() * 10)) {
    case 0:
      return p.length ? setAt(spec, p, undefined, true) : spec;
    case 1: {
      // Duplicate a key under another name (a typo, or the field of a newer version).
      const parent = getAt(spec, p.slice(0, -1));
      const k = p[p.length - 1];
      if (typeof k === 'string' && parent && typeof parent === 'object' && !Array.isArray(parent))
        (parent as Record<string, Json>)[
          pick(r, [k + 's', k.slice(0, -1), k.toLowerCase() + '_', `${k}V2`])
        ] = cur;
      return spec;
    }
    case 2:
      return setAt(spec, p, retype(r, cur));
    case 3:
      return setAt(spec, p, typeof cur === 'number' || r() < 0.3 ? pick(r, outOfRange) : cur);
    case 4: {
      const axes = (spec as { axes?: Json[] }).axes;
      if (Array.isArray(axes) && axes.length > 0) {
        const a = pick(r, axes) as Record<string, Json>;
        if (a && typeof a === 'object') a.path = pick(r, badPaths);
      } else (spec as Record<string, Json>).axes = [{ path: pick(r, badPaths), values: [1] }];
      return spec;
    }
    case 5: {
      // A huge array: a list made long (bounded so the suite stays fast).
      const arrays = all.filter(
        (q) => Array.isArray(getAt(spec, q)) && (getAt(spec, q) as Json[]).length > 0,
      );
      if (arrays.length === 0) return spec;
      const q = pick(r, arrays);
      const arr = getAt(spec, q) as Json[];
      const n = pick(r, [100, 1000, 5000]);
      return setAt(
        spec,
        q,
        Array.from({ length: n }, (_, i) => structuredClone(arr[i % arr.length])),
      );
    }
    case 6:
      return setAt(spec, p, typeof cur === 'number' || r() < 0.5 ? pick(r, jsonUnsafe) : cur);
    case 7:
      return setAt(spec, p, Array.isArray(cur) ? [] : cur && typeof cur === 'object' ? {} : '');
    case 8: {
      const s = spec as Record<string, Json>;
      const k = pick(r, [
        'mode',
        'samples',
        'seeds',
        'population',
        'populationsPerJob',
        'randomSeed',
        'analyzers',
        'name',
      ]);
      s[k] = pick(r, [
        'grid',
        'zip',
        'random',
        'spiral',
        0,
        3,
        -2,
        4e9,
        [0, 0, 1],
        [],
        ['gradient-share'],
        null,
        'x'.repeat(300),
      ]);
      return spec;
    }
    default: {
      // Cross-field breakage the schema alone cannot see.
      const base = (spec as { base?: Record<string, Json> }).base;
      if (!base || typeof base !== 'object') return spec;
      const k = pick(r, ['model', 'record', 'optimizer', 'init']);
      base[k] = pick(r, [
        { kind: 'linear', hidden: [4] },
        { kind: 'relu', hidden: [] },
        { probes: [{ x: [1, 2, 3, 4, 5] }] },
        { steps: [1e9] },
        { kind: 'sgd', batchSize: 0 },
        { kind: 'sgd', batchSize: 100000 },
        { layers: [{ layer: 7, weights: [1] }] },
        { layers: [{ layer: 0, weights: [1, 2, 3] }] },
        { kind: 'relu', hidden: [4], trainable: [true] },
      ]);
      return spec;
    }
  }
}

const maxSpecChars = 20_000;

/** A spec for the fuzz: a valid example with 1-3 mutations, or (one in ten) an arbitrary value. */
export function fuzzSpec(r: Rng): unknown {
  if (r() < 0.1)
    return pick(r, [
      null,
      42,
      'grid',
      [],
      [validExamples()[0]],
      {},
      { base: null },
      { axes: 'all' },
    ]);
  let spec: Json = structuredClone(pick(r, validExamples()));
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const before = structuredClone(spec);
    spec = mutateOnce(r, spec);
    // Huge arrays nested in huge arrays would make single specs of megabytes that take the
    // validator a minute (see docs/reliability.md); keep each spec under ~20 kB (the cost of a large spec is measured apart).
    if ((JSON.stringify(spec)?.length ?? 0) > maxSpecChars) spec = before;
  }
  return spec;
}

/**
 * The wire form of a spec that may be invalid, built the way an old or careless client would:
 * protobufjs coerces what it can; null when the spec cannot be expressed as a SweepSpec at all.
 */
export function lenientWire(spec: unknown): v1.ISweepSpec | null {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return null;
  const s = spec as Record<string, unknown>;
  try {
    const base =
      s.base && typeof s.base === 'object'
        ? structuredClone(s.base as Record<string, unknown>)
        : undefined;
    if (base) {
      for (const [path, prefix] of Object.entries({
        'model.kind': 'MODEL_KIND',
        'init.kind': 'INIT_KIND',
        'loss.kind': 'LOSS_KIND',
        'optimizer.kind': 'OPTIMIZER_KIND',
        'record.quantities': 'QUANTITY',
      })) {
        const [a, b] = path.split('.') as [string, string];
        const sub = base[a] as Record<string, unknown> | undefined;
        if (!sub || typeof sub !== 'object' || sub[b] === undefined) continue;
        const v = sub[b];
        sub[b] = Array.isArray(v)
          ? v.map((x) => toEnumName(prefix, String(x)))
          : typeof v === 'string'
            ? toEnumName(prefix, v)
            : v;
      }
    }
    const axes = Array.isArray(s.axes)
      ? s.axes.map((a) => {
          const ax = (a ?? {}) as Record<string, unknown>;
          return {
            path: ax.path,
            valuesJson: Array.isArray(ax.values)
              ? ax.values.map((v) => JSON.stringify(v) ?? 'undefined')
              : [],
            range: ax.range,
          };
        })
      : [];
    const modes: Record<string, number> = { grid: 1, zip: 2, random: 3 };
    const obj: Record<string, unknown> = {
      name: s.name,
      base,
      axes,
      mode: typeof s.mode === 'string' ? (modes[s.mode] ?? 0) : s.mode,
      samples: s.samples,
      randomSeed: s.randomSeed,
      seedCount: typeof s.seeds === 'number' ? s.seeds : 0,
      seeds: Array.isArray(s.seeds) ? s.seeds : [],
      population: s.population,
      populationsPerJob: s.populationsPerJob,
      analyzers: s.analyzers,
    };
    const msg = v1.SweepSpec.fromObject(
      JSON.parse(
        JSON.stringify(obj, (_k, v: unknown) =>
          typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
        ),
      ) as Record<string, unknown>,
    );
    v1.SweepSpec.encode(msg).finish();
    return msg;
  } catch {
    return null;
  }
}

/** Mutations only the wire can carry: enum numbers out of range, NaN doubles, broken axis JSON, uint32 extremes. */
export function mutateWire(r: Rng, msg: v1.ISweepSpec): v1.ISweepSpec {
  const m = v1.SweepSpec.fromObject(
    v1.SweepSpec.toObject(msg as v1.SweepSpec) as Record<string, unknown>,
  );
  const base = (m.base ??= v1.TrialSpec.create());
  switch (Math.floor(r() * 8)) {
    case 0:
      m.mode = pick(r, [0, 4, 99, -1]) as v1.AxisMode;
      break;
    case 1:
      base.model = v1.ModelSpec.create({
        ...(base.model ?? {}),
        kind: pick(r, [0, 7, 1000]) as v1.ModelKind,
      });
      break;
    case 2:
      base.optimizer = v1.OptimizerSpec.create({
        ...(base.optimizer ?? {}),
        learningRate: pick(r, [NaN, Infinity, -Infinity, -1]),
      });
      break;
    case 3:
      if (m.axes?.[0])
        m.axes[0].valuesJson = [
          pick(r, ['{"a":', 'NaN', '', 'undefined', '[1,', '1e999', '"\\u0000"']),
        ];
      else m.axes = [v1.Axis.create({ path: 'optimizer.learningRate', valuesJson: ['{'] })];
      break;
    case 4:
      m.seedCount = pick(r, [4_000_000_000, 4294967295, 100_000_000]);
      m.seeds = [];
      break;
    case 5:
      m.population = pick(r, [0, 4294967295, 100_000]);
      break;
    case 6:
      m.samples = pick(r, [4294967295, 1_000_000]);
      m.mode = v1.AxisMode.AXIS_MODE_RANDOM;
      break;
    default:
      base.steps = pick(r, [0, 4294967295, 20_000_000]);
  }
  return m;
}

/** Byte-level damage to an encoded message: truncation, flipped bytes, inserted garbage, or noise. */
export function mutateBytes(r: Rng, bytes: Uint8Array): Uint8Array {
  const b = Buffer.from(bytes);
  switch (Math.floor(r() * 5)) {
    case 0:
      return b.subarray(0, Math.floor(r() * b.length));
    case 1: {
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++)
        b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return b;
    }
    case 2: {
      const at = Math.floor(r() * b.length);
      const junk = Buffer.from(
        Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256)),
      );
      return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
    case 3:
      return Buffer.concat([b, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]);
    default:
      return Buffer.from(
        Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)),
      );
  }
}
