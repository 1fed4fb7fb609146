import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '@dynlab/core';
import { v1, encode, decode } from '@dynlab/proto';
import {
  compileSweep,
  expandSweep,
  planJobs,
  shapeKey,
  sweepParams,
  trialAt,
  trialIndex,
} from './sweep';
import { compileTrial, trialToInput } from './compiled-trial';
import {
  trialToProto,
  trialFromProto,
  trialsFromProto,
  compactJobTrials,
  jobTrialsFromProto,
  jobTrialMessages,
  sweepToProto,
  sweepFromProto,
} from './wire';
import { parseSpecText } from './load';

const base = {
  data: { features: { n: 100, features: [{ frequency: 1 }, { frequency: 0.2 }] } },
  model: { kind: 'relu', hidden: [8] },
  optimizer: { learningRate: 0.05 },
  steps: 50,
  record: {
    probes: [
      { name: 'e1', x: [1, 0] },
      { name: 'e2', x: [0, 1] },
    ],
  },
};

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ValidationError');
}

test('defaults are applied and the compiled trial has every derived field', () => {
  const t = compileTrial(base);
  assert.equal(t.inputDim, 2);
  assert.deepEqual(t.widths, [2, 8, 1]);
  assert.equal(t.loss.kind, 'logistic');
  assert.equal(t.loss.margin, 1);
  assert.equal(t.optimizer.kind, 'gd');
  assert.deepEqual(t.model.trainable, [true, true]);
  assert.deepEqual(t.model.biasTrainable, [false, false]);
  assert.equal(t.data.kind, 'features');
  assert.equal(t.data.seed, 0);
  assert.equal(t.record.logPoints, 100);
});

test('a broken sweep reports every problem with its path at once', () => {
  const issues = issuesOf(() =>
    compileSweep({
      base: { ...base, steps: 0, optimizr: {}, record: { probes: [{ x: [1, 2, 3] }] } },
      axes: [
        { path: 'optimizer.learningRate', values: [] },
        { path: 'optimizer.nope', values: [1] },
      ],
      population: 0,
    }),
  );
  const joined = issues.join('\n');
  assert.match(joined, /^axes\[0\]\.values: expected a non-empty list, got \[\]$/m);
  assert.match(joined, /^population: /m);
  assert.match(joined, /^base: unknown key 'optimizr'$/m);
  assert.match(joined, /^base\.steps: /m);
  assert.match(
    joined,
    /^axes\[1\]\.path: 'optimizer\.nope' is not a field of the base trial$/m,
    'paths are checked even when the base is broken',
  );
  assert.ok(issues.length >= 5, joined);
});

test('cross-field rules name the path: inline dims, explicit init, probes, missing paths', () => {
  const issues = issuesOf(() =>
    compileSweep({
      base: {
        data: { inline: { n: 2, dim: 2, x: [1, 2, 3], y: [1, -1] } },
        model: { kind: 'linear' },
        init: { layers: [{ layer: 0, weights: [1, 2, 3] }] },
        record: { probes: [{ x: [1] }] },
      },
      axes: [{ path: 'optimizer.nope', values: [1] }],
    }),
  );
  assert.deepEqual(issues.sort(), [
    "axes[0].path: 'optimizer.nope' is not a field of the base trial",
    'base.data.inline.x: expected n*dim = 4 values, got 3',
    'base.init.layers[0].weights: expected 1x2 = 2 values, got 3',
    'base.record.probes[0].x: expected 2 values (the input dimension), got 1',
  ]);
  const paths = issuesOf(() =>
    compileSweep({
      base,
      axes: [
        { path: 'optimizer.nope', values: [1] },
        { path: 'model.hidden[0]', values: [0] },
      ],
    }),
  );
  assert.deepEqual(paths.sort(), [
    "axes[0].path: 'optimizer.nope' is not a field of the base trial",
    'axes[1].values[0]: gives an invalid trial: model.hidden[0]: Number must be greater than 0',
  ]);
});

test('grid expansion: product of axes times seeds, seeds innermost, params recorded', () => {
  const s = compileSweep({
    base,
    axes: [
      { path: 'optimizer.learningRate', values: [0.1, 0.2, 0.3] },
      { path: 'data.features.features[0].knockedOut', values: [false, true] },
    ],
    seeds: 2,
    population: 4,
  });
  assert.equal(s.trialCount, 12);
  const trials = [...expandSweep(s, 'sw1')];
  assert.equal(trials.length, 12);
  assert.deepEqual(
    trials
      .slice(0, 4)
      .map((t) => [
        t.optimizer.learningRate,
        t.data.kind === 'features' && t.data.features[0]!.knockedOut,
        t.seed,
      ]),
    [
      [0.1, false, 0],
      [0.1, false, 1],
      [0.1, true, 0],
      [0.1, true, 1],
    ],
  );
  assert.equal(trials[0]!.id, 'sw1-t000000');
  assert.equal(trials[0]!.params['optimizer.learningRate'], '0.1');
  // learning rate and knock-out do not change the shape: 12 trials in jobs of at most 4
  assert.equal(new Set(trials.map(shapeKey)).size, 1);
  const jobs = [...planJobs(trials, 'sw1', 4)];
  assert.deepEqual(
    jobs.map((j) => j.trials.length),
    [4, 4, 4],
  );
  assert.equal(new Set(jobs.flatMap((j) => j.trials.map((t) => t.id))).size, 12);
});

test('different shapes go to different jobs; zip and random modes', () => {
  const s = compileSweep({
    base,
    axes: [{ path: 'model.hidden', values: [[4], [8]] }],
    seeds: 3,
    population: 2,
  });
  const jobs = [...planJobs(expandSweep(s, 'x'), 'x', 2)];
  for (const j of jobs) assert.equal(new Set(j.trials.map((t) => t.widths[1])).size, 1);
  assert.deepEqual(jobs.map((j) => j.trials.length).sort(), [1, 1, 2, 2]);
  const zip = compileSweep({
    base,
    mode: 'zip',
    axes: [
      { path: 'steps', values: [10, 20] },
      { path: 'seed', values: [5, 6] },
    ],
  });
  assert.deepEqual(
    [...expandSweep(zip, 'z')].map((t) => [t.steps, t.seed]),
    [
      [10, 0],
      [20, 0],
    ],
  );
  const rnd = compileSweep({
    base,
    mode: 'random',
    samples: 50,
    randomSeed: 3,
    axes: [{ path: 'init.scale', range: { min: 0.001, max: 1, log: true } }],
  });
  const scales = [...expandSweep(rnd, 'r')].map((t) => t.init.scale);
  assert.equal(scales.length, 50);
  assert.ok(scales.every((v) => v >= 0.001 && v <= 1));
  assert.deepEqual(
    scales,
    [...expandSweep(rnd, 'r')].map((t) => t.init.scale),
    'random mode is deterministic',
  );
  assert.ok(
    Math.min(...scales) < 0.01 && Math.max(...scales) > 0.1,
    'log-uniform covers the decades',
  );
});

test('limits: trial count and population are enforced before expansion', () => {
  const issues = issuesOf(() =>
    compileSweep(
      {
        base,
        axes: [{ path: 'steps', values: Array.from({ length: 1000 }, (_, i) => i + 1) }],
        seeds: 200,
      },
      { maxTrials: 100_000, maxPopulation: 1024, maxSteps: 1e6, maxJobBytes: 2 ** 31 },
    ),
  );
  assert.deepEqual(issues, ['axes: the sweep expands to 200000 trials, over the limit of 100000']);
});

test('a sweep over the trial limit is rejected for its size alone; its values are checked once it fits', () => {
  const limits = { maxTrials: 1000, maxPopulation: 1024, maxSteps: 1e6, maxJobBytes: 2 ** 31 };
  // Steps of 0 are invalid: reported when the sweep fits, not when it is too big anyway.
  const spec = (n: number) => ({
    base,
    axes: [{ path: 'steps', values: [0, ...Array.from({ length: n - 1 }, (_, i) => i + 1)] }],
  });
  assert.deepEqual(
    issuesOf(() => compileSweep(spec(2000), limits)),
    ['axes: the sweep expands to 2000 trials, over the limit of 1000'],
  );
  assert.match(issuesOf(() => compileSweep(spec(10), limits)).join('\n'), /axes\[0\]\.values\[0\]/);
});

test('trials and sweeps round-trip through their protobuf form', () => {
  const t = compileTrial({
    ...base,
    id: 'a',
    data: { ...base.data, seed: 7 },
    model: { kind: 'deepLinear', hidden: [3, 3] },
    record: { quantities: ['loss', 'gradShare'], probes: [] },
  });
  const bytes = encode(v1.TrialSpec, trialToProto(t));
  const back = trialFromProto(decode(v1.TrialSpec, bytes));
  assert.deepEqual(trialToInput(back), trialToInput(t));
  assert.equal(back.model.kind, 'deepLinear');
  assert.deepEqual([...back.quantities], ['loss', 'gradShare']);
  const s = compileSweep({
    name: 'n',
    base,
    axes: [{ path: 'init.scale', values: [0.1, 0.01] }],
    seeds: [3, 4],
    population: 8,
    populationsPerJob: 3,
    analyzers: ['gradient-share'],
  });
  const wire = decode(v1.SweepSpec, encode(v1.SweepSpec, sweepToProto(s)));
  const s2 = compileSweep(sweepFromProto(wire));
  assert.deepEqual(
    [...expandSweep(s2, 'q')].map(trialToInput),
    [...expandSweep(s, 'q')].map(trialToInput),
  );
  assert.deepEqual(s2.analyzers, ['gradient-share']);
  assert.equal(s2.populationsPerJob, 3);
  // Unset stays unset (the planner's choice), on the wire as 0.
  const auto = compileSweep(sweepFromProto(sweepToProto(compileSweep({ base }))));
  assert.equal(auto.populationsPerJob, undefined);
  assert.throws(
    () => compileSweep({ base, populationsPerJob: 0 }),
    (e: ValidationError) => e.issues.some((i) => i.path === 'populationsPerJob'),
  );
});

test('YAML syntax errors name line and column', () => {
  const issues = issuesOf(() => parseSpecText('base:\n  steps: [1, 2\nname: x\n', 'bad.yaml'));
  assert.equal(issues.length >= 1, true);
  assert.match(issues[0]!, /^bad\.yaml:\d+:\d+: /);
});

test('trialAt gives the same trial as the expansion, for every mode', () => {
  const sweeps = [
    compileSweep({
      base,
      axes: [
        { path: 'steps', values: [5, 6, 7] },
        { path: 'init.scale', values: [0.1, 0.2] },
      ],
      seeds: [3, 9],
    }),
    compileSweep({
      base,
      mode: 'zip',
      axes: [
        { path: 'steps', values: [5, 6] },
        { path: 'init.scale', values: [0.1, 0.2] },
      ],
      seeds: 2,
    }),
    compileSweep({
      base,
      mode: 'random',
      samples: 4,
      axes: [{ path: 'init.scale', range: { min: 0.01, max: 1 } }],
      seeds: 2,
    }),
    // The data seed fixed by the base, or by an axis.
    compileSweep({ base: { ...base, data: { ...base.data, seed: 77 } }, seeds: 3 }),
    compileSweep({
      base: { ...base, data: { ...base.data, seed: 77 } },
      axes: [{ path: 'data.seed', values: [5, 6] }],
      seeds: [1, 2, 3],
    }),
    // An axis over whole datasets, one with its own seed, one without.
    compileSweep({
      base,
      axes: [{ path: 'data', values: [{ ...base.data, seed: 4 }, base.data] }],
      seeds: 2,
    }),
  ];
  for (const s of sweeps) {
    const all = [...expandSweep(s, 'w')];
    const paramsOf = sweepParams(s);
    assert.equal(all.length, s.trialCount);
    all.forEach((t, i) => {
      assert.equal(trialIndex(t.id), i);
      // Seeds after a point's first trial are derived from it; trialAt builds each in full.
      assert.deepEqual(trialAt(s, 'w', i), t);
      assert.deepEqual(trialToInput(trialAt(s, 'w', i)!), trialToInput(t));
      assert.deepEqual(paramsOf(i), t.params, 'sweepParams names the same params');
    });
    assert.equal(trialAt(s, 'w', s.trialCount), undefined);
  }
  assert.equal(trialIndex('nope'), -1);
});

/** 2 scales x 2 datasets (one with its own data seed) x 3 seeds. */
const twoPointsTwoDatasets = () =>
  compileSweep({
    base,
    axes: [
      { path: 'init.scale', values: [0.1, 0.2] },
      { path: 'data', values: [base.data, { ...base.data, seed: 11 }] },
    ],
    seeds: [3, 4, 5],
  });

test('a job decoded with one check per trial body equals each trial decoded alone', () => {
  const s = twoPointsTwoDatasets();
  // One job holding every point and seed, from its encoded bytes as a trainer gets it.
  const job = decode(
    v1.Job,
    encode(v1.Job, {
      jobId: 'j',
      sweepId: 'w',
      trials: [...expandSweep(s, 'w')].map(trialToProto),
    }),
  );
  const fast = trialsFromProto(job.trials);
  assert.equal(fast.length, 12);
  assert.deepEqual(
    fast,
    job.trials.map((t) => trialFromProto(t)),
  );
  assert.deepEqual(
    fast.map((t) => t.data.seed),
    [3, 4, 5, 11, 11, 11, 3, 4, 5, 11, 11, 11],
  );
  // An invalid trial after valid ones of the same job is still rejected, naming the field.
  const bad = trialToProto(trialAt(s, 'w', 0)!);
  bad.steps = 0;
  bad.id = 'w-t000099';
  assert.throws(
    () => trialsFromProto([...job.trials, bad]),
    (e: unknown) => e instanceof ValidationError && /steps/.test(e.message),
  );
});

test('trials sent together in the compact form come back as each trial converted alone, byte for byte', () => {
  const s = twoPointsTwoDatasets();
  const trials = [...expandSweep(s, 'w')];
  // Also a trial built on its own between seeds of one point (not derived: converted in full).
  trials.splice(1, 0, trialAt(s, 'w', 7)!);
  const together = jobTrialMessages(compactJobTrials(trials)).map((m) =>
    Buffer.from(encode(v1.TrialSpec, m)),
  );
  const alone = trials.map((t) => Buffer.from(encode(v1.TrialSpec, trialToProto(t))));
  assert.equal(together.length, 13);
  together.forEach((b, i) => assert.ok(b.equals(alone[i]!), `trial ${i}`));
});

test('a job in the compact form (templates and refs) decodes to the same trials as in full', () => {
  const s = twoPointsTwoDatasets();
  const trials = [...expandSweep(s, 'w')];
  trials.splice(1, 0, trialAt(s, 'w', 7)!); // a trial of another point between seeds of one
  const compact = compactJobTrials(trials);
  assert.equal(compact.templates.length, 6, 'one per run of seeds of a point');
  const job = decode(v1.Job, encode(v1.Job, { jobId: 'j', sweepId: 'w', ...compact }));
  const full = decode(
    v1.Job,
    encode(v1.Job, { jobId: 'j', sweepId: 'w', trials: trials.map(trialToProto) }),
  );
  const expected = full.trials.map((t) => trialFromProto(t));
  assert.deepEqual(jobTrialsFromProto(job), expected);
  assert.deepEqual(jobTrialsFromProto(full), expected, 'the full form still decodes');
  assert.deepEqual(
    jobTrialMessages(job).map((t) => trialFromProto(t)),
    expected,
    'materialized messages (dead letters) carry the same trials',
  );
  // 64 seeds of one point: one body instead of 64.
  const seeds = [...expandSweep(compileSweep({ base, seeds: 64 }), 'w')];
  const compactBytes = encode(v1.Job, { jobId: 'j', ...compactJobTrials(seeds) }).length;
  const fullBytes = encode(v1.Job, { jobId: 'j', trials: seeds.map(trialToProto) }).length;
  assert.ok(compactBytes * 4 < fullBytes, `${compactBytes} bytes compact, ${fullBytes} in full`);
});

test('a compact job that points at a missing template, mixes forms or holds a bad body is rejected', () => {
  const s = twoPointsTwoDatasets();
  const compact = compactJobTrials([...expandSweep(s, 'w')]);
  const bad = (job: Record<string, unknown>) =>
    issuesOf(() => jobTrialsFromProto(v1.Job.fromObject({ jobId: 'j', sweepId: 'w', ...job })));
  assert.match(
    bad({ ...compact, refs: [{ ...compact.refs[0], template: 99 }] }).join('\n'),
    /job\.refs\[0\]\.template: no template 99/,
  );
  assert.match(
    bad({ ...compact, trials: [trialToProto(trialAt(s, 'w', 0)!)] }).join('\n'),
    /^job: a job has one of trials, refs and ranges, not several/,
  );
  const broken = v1.TrialSpec.fromObject({ ...compact.templates[0], steps: 0 });
  assert.match(
    bad({ ...compact, templates: [broken, ...compact.templates.slice(1)] }).join('\n'),
    /steps/,
  );
});
