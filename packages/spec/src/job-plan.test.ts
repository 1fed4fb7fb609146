import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '@dynlab/core';
import { v1, encode, decode } from '@dynlab/proto';
import {
  compileSweep,
  defaultLimits,
  expandSweep,
  planJobs,
  trialIndex,
  type CompiledSweep,
} from './sweep';
import { planSweepJobs, populationsPerJob, runTrials, type JobPlan } from './job-plan';
import { compileGroups, runGroup } from './trial-group';
import {
  compactJobTrials,
  jobResultOutcomes,
  jobResultToProto,
  jobResultTrials,
  jobToProto,
  jobTrialIndices,
  jobTrialMessages,
  jobTrialsFromProto,
  trialFromProto,
  trialToProto,
} from './wire';

const base = {
  data: { features: { n: 20, features: [{ frequency: 1 }, { frequency: 0.5 }] } },
  model: { kind: 'relu', hidden: [4] },
  steps: 10,
};

/** Sweeps whose plans differ in every way the planner can: points, shapes, seeds, fixed data seeds. */
function sweeps(): CompiledSweep[] {
  return [
    compileSweep({ base, seeds: 10, population: 4 }),
    compileSweep({ base, seeds: 1, population: 3 }),
    compileSweep({
      base,
      axes: [{ path: 'optimizer.learningRate', values: [0.1, 0.2, 0.3] }],
      seeds: 7,
      population: 5,
    }),
    // Two shapes interleaved (hidden width), so jobs of one shape stay open across points.
    compileSweep({
      base,
      axes: [
        { path: 'model.hidden', values: [[4], [6]] },
        { path: 'init.scale', values: [0.1, 0.2, 0.3] },
      ],
      seeds: [9, 3, 27],
      population: 4,
    }),
    compileSweep({
      base,
      mode: 'zip',
      axes: [
        { path: 'steps', values: [5, 6] },
        { path: 'init.scale', values: [0.1, 0.2] },
      ],
      seeds: 3,
      population: 64,
    }),
    compileSweep({
      base,
      mode: 'random',
      samples: 5,
      axes: [{ path: 'init.scale', range: { min: 0.01, max: 1 } }],
      seeds: 2,
      population: 3,
    }),
    compileSweep({
      base: { ...base, data: { ...base.data, seed: 77 } },
      axes: [{ path: 'data.seed', values: [5, 6] }],
      seeds: [1, 2, 3],
      population: 2,
    }),
    compileSweep({ base, seeds: 8, population: 1 }),
  ];
}

const materialize = (s: CompiledSweep, job: JobPlan) =>
  job.runs.flatMap((r) => runTrials(r, 'w', s.seeds.length));

test('jobs planned as runs are the jobs planJobs makes of the expanded trials: ids, order, trials', () => {
  for (const s of sweeps()) {
    const expected = [...planJobs(expandSweep(s, 'w'), 'w', s.population)];
    const planned = [...planSweepJobs(s, 'w')];
    assert.deepEqual(
      planned.map((j) => j.jobId),
      expected.map((j) => j.jobId),
    );
    planned.forEach((job, i) => {
      assert.equal(job.shape, expected[i]!.shape);
      assert.equal(job.trialCount, expected[i]!.trials.length);
      assert.deepEqual(materialize(s, job), expected[i]!.trials);
      // As trial groups (a body each) across a thread: the same trials again.
      const groups = structuredClone(job.runs.map((r) => runGroup(r, 'w', s.seeds.length)));
      assert.deepEqual(compileGroups(groups), expected[i]!.trials);
    });
  }
});

test('a plan of marked trials only (a resume) groups them as planJobs groups the filtered trials', () => {
  for (const s of sweeps()) {
    // Every third trial, and a run of four: gaps inside points and whole points left out.
    const only = new Uint8Array(s.trialCount).map((_, i) =>
      i % 3 === 0 || (i >= 5 && i < 9) ? 1 : 0,
    );
    const filtered = [...expandSweep(s, 'w')].filter((t) => only[trialIndex(t.id)]);
    const expected = [...planJobs(filtered, 'w-r1', s.population)];
    const planned = [...planSweepJobs(s, 'w', { jobPrefix: 'w-r1', only })];
    assert.deepEqual(
      planned.map((j) => [j.jobId, materialize(s, j)]),
      expected.map((j) => [j.jobId, j.trials]),
    );
    for (const job of planned)
      for (const r of job.runs)
        assert.ok(
          r.seeds.every((_, k) => only[r.firstIndex + k] === 1),
          'a run holds marked trials only',
        );
  }
  const s = sweeps()[0]!;
  assert.equal([...planSweepJobs(s, 'w', { only: new Uint8Array(s.trialCount) })].length, 0);
});

test('a job of several populations is exactly that many consecutive jobs of one, in one', () => {
  for (const s of sweeps())
    for (const per of [2, 3]) {
      const expected = [...planJobs(expandSweep(s, 'w'), 'w', per * s.population)];
      const planned = [...planSweepJobs(s, 'w', { populationsPerJob: per })];
      assert.deepEqual(
        planned.map((j) => [j.jobId, j.population, materialize(s, j)]),
        expected.map((j) => [j.jobId, s.population, j.trials]),
      );
    }
});

test('jobs of tiny trials hold several populations, jobs of heavy trials one, small sweeps stay spread', () => {
  const tiny = {
    data: { features: { n: 16, features: [{}, { frequency: 0.5 }] } },
    model: { kind: 'relu', hidden: [4] },
    steps: 40,
  };
  const plan = (spec: object) => {
    const s = compileSweep(spec, { ...defaultLimits, maxTrials: Infinity });
    return { s, jobs: [...planSweepJobs(s, 'w')] };
  };
  // 20,000 trials of 40 steps on 16 points: a population is about 7 ms of work, too little.
  const { s, jobs } = plan({ base: tiny, seeds: 20_000, population: 64 });
  const per = populationsPerJob(s.baseTrial, 64, Math.ceil(20_000 / 64));
  assert.ok(per > 1 && per <= 16, `${per} populations per job`);
  assert.equal(jobs.length, Math.ceil(20_000 / (per * 64)));
  assert.ok(jobs.every((j) => j.population === 64));
  assert.ok(jobs.slice(0, -1).every((j) => j.trialCount === per * 64));
  assert.equal(
    jobs.reduce((n, j) => n + j.trialCount, 0),
    20_000,
  );
  // The sweep says otherwise: its word goes.
  assert.equal(
    plan({ base: tiny, seeds: 20_000, population: 64, populationsPerJob: 1 }).jobs.length,
    313,
  );
  assert.equal(
    plan({ base: tiny, seeds: 2000, population: 64, populationsPerJob: 8 }).jobs.length,
    4,
  );
  // Ten times the steps: a population alone is enough work.
  assert.equal(
    plan({ base: { ...tiny, steps: 400 }, seeds: 20_000, population: 64 }).jobs.length,
    313,
  );
  // Larger networks: one population per job (1,000 points, 100 hidden units, 40 steps).
  const wide = {
    ...tiny,
    data: { features: { n: 1000, features: [{}, { frequency: 0.5 }] } },
    model: { kind: 'relu', hidden: [100] },
  };
  assert.equal(plan({ base: wide, seeds: 20_000, population: 64 }).jobs.length, 313);
  // 2,000 tiny trials are 32 populations: packing them would leave too few jobs to spread.
  assert.equal(plan({ base: tiny, seeds: 2000, population: 64 }).jobs.length, 32);
  // A resume plans its re-runs alone: 2,000 marked trials of the 20,000 are spread the same way.
  const only = new Uint8Array(20_000).map((_, i) => (i % 10 === 0 ? 1 : 0));
  assert.equal([...planSweepJobs(s, 'w', { only })].length, 32);
});

test('a recorded packing plans the same jobs whatever this version would choose, shape by shape', () => {
  // Two shapes (hidden 4 and 6), interleaved, many tiny trials: the automatic choice packs them.
  const s = compileSweep(
    {
      base,
      axes: [
        { path: 'model.hidden', values: [[4], [6]] },
        { path: 'init.scale', values: [0.1, 0.2] },
      ],
      seeds: 4000,
      population: 4,
    },
    { ...defaultLimits, maxTrials: Infinity },
  );
  const ids = (jobs: JobPlan[]) => jobs.map((j) => `${j.jobId} ${j.trialCount}`);
  const auto: number[] = [];
  const autoJobs = [...planSweepJobs(s, 'w', { record: auto })];
  assert.equal(auto.length, 2, 'one entry per shape');
  assert.ok(
    auto.every((p) => p > 1),
    `packed: ${auto.join(', ')}`,
  );
  // Planned again from the record: the same jobs.
  assert.deepEqual(ids([...planSweepJobs(s, 'w', { packing: auto })]), ids(autoJobs));
  // Another version's record (3 populations for the first shape, 1 for the second) wins over the
  // automatic choice, and is reproduced exactly from itself.
  const other = [...planSweepJobs(s, 'w', { packing: [3, 1] })];
  assert.ok(other.length !== autoJobs.length);
  const shapes = [...new Set(other.map((j) => j.shape))];
  for (const j of other.slice(0, -2))
    assert.equal(j.trialCount, (j.shape === shapes[0] ? 3 : 1) * 4, j.jobId);
  const again: number[] = [];
  assert.deepEqual(ids([...planSweepJobs(s, 'w', { packing: [3, 1], record: again })]), ids(other));
  assert.deepEqual(again, [3, 1]);
  // A record shorter than the shapes: the rest get the automatic choice.
  const partial: number[] = [];
  assert.ok([...planSweepJobs(s, 'w', { packing: [2], record: partial })].length > 0);
  assert.deepEqual(partial, [2, auto[1]]);
  // A resume whose re-runs are all of the second shape: its record has that shape alone, and a
  // plan from the record is the same plan.
  const second = new Set(
    autoJobs.filter((j) => j.shape !== autoJobs[0]!.shape).map((j) => j.shape),
  );
  const only = new Uint8Array(s.trialCount);
  for (const j of autoJobs)
    if (second.has(j.shape))
      for (const r of j.runs) for (let k = 0; k < r.seeds.length; k++) only[r.firstIndex + k] = 1;
  const resumed: number[] = [];
  const resumeJobs = [...planSweepJobs(s, 'w', { only, record: resumed })];
  assert.equal(resumed.length, 1);
  assert.ok(resumeJobs.every((j) => second.has(j.shape)));
  assert.deepEqual(ids([...planSweepJobs(s, 'w', { only, packing: resumed })]), ids(resumeJobs));
});

test('a job sent as ranges decodes to the planned trials, each equal to its full message alone', () => {
  for (const s of sweeps())
    for (const plan of planSweepJobs(s, 'w')) {
      const job = decode(v1.Job, encode(v1.Job, jobToProto('w', plan)));
      const trials = materialize(s, plan);
      assert.equal(job.ranges.length, plan.runs.length);
      assert.equal(job.templates.length, new Set(plan.runs.map((r) => r.point)).size);
      const decoded = jobTrialsFromProto(job);
      assert.deepEqual(decoded, trials);
      assert.deepEqual(
        decoded,
        trials.map((t) => trialFromProto(trialToProto(t))),
      );
      assert.deepEqual(
        jobTrialMessages(job).map((m) => Buffer.from(encode(v1.TrialSpec, m)).toString('hex')),
        trials.map((t) => Buffer.from(encode(v1.TrialSpec, trialToProto(t))).toString('hex')),
        'materialized messages are the trials converted alone, byte for byte',
      );
      assert.deepEqual(
        jobTrialIndices(job),
        trials.map((t) => trialIndex(t.id)),
      );
    }
});

test('64 seeds of one point travel as one body and one range, far smaller than refs', () => {
  const s = compileSweep({ base, seeds: 64, population: 64 });
  const [plan] = [...planSweepJobs(s, 'sw-x')];
  const ranges = encode(v1.Job, jobToProto('sw-x', plan!)).length;
  const refs = encode(v1.Job, {
    jobId: plan!.jobId,
    sweepId: 'sw-x',
    ...compactJobTrials(materialize(s, plan!)),
  }).length;
  assert.ok(ranges * 3 < refs, `${ranges} bytes as ranges, ${refs} as refs`);
  assert.ok(ranges < 700, `${ranges} bytes`);
});

test('a job whose ranges point at a missing template, hold no seeds, run past the last index or mix forms is rejected', () => {
  const s = sweeps()[2]!;
  const [plan] = [...planSweepJobs(s, 'w')];
  const good = jobToProto('w', plan!);
  const issues = (job: v1.IJob) => {
    try {
      jobTrialsFromProto(v1.Job.fromObject(job as Record<string, unknown>));
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return err.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    }
    assert.fail('expected a ValidationError');
  };
  const range0 = good.ranges![0]!;
  assert.match(
    issues({ ...good, ranges: [{ ...range0, template: 7 }] }),
    /job\.ranges\[0\]\.template: no template 7/,
  );
  assert.match(issues({ ...good, ranges: [{ ...range0, seeds: [] }] }), /job\.ranges\[0\]\.seeds/);
  assert.match(
    issues({ ...good, ranges: [{ ...range0, firstIndex: 2 ** 32 - 2 }] }),
    /job\.ranges\[0\]\.firstIndex/,
  );
  assert.match(
    issues({ ...good, refs: compactJobTrials(materialize(s, plan!)).refs }),
    /^job: a job has one of trials, refs and ranges/,
  );
  const broken = v1.TrialSpec.fromObject({ ...good.templates![0], steps: 0 });
  assert.match(issues({ ...good, templates: [broken] }), /steps/);
});

/** Outcomes of a job of three trials, one failed with its own error and one failed without. */
const outcomes = [
  {
    index: 4,
    status: v1.TrialStatus.TRIAL_STATUS_OK,
    finalLoss: 0.25,
    finalError: 0,
    stepsDone: 10,
    telemetryChunks: 1,
    telemetryPoints: 7,
  },
  {
    index: 5,
    status: v1.TrialStatus.TRIAL_STATUS_FAILED,
    finalLoss: NaN,
    finalError: NaN,
    stepsDone: 3,
    telemetryChunks: 1,
    telemetryPoints: 2,
    error: { code: 'BACKEND', message: 'boom' },
  },
  {
    index: 9,
    status: v1.TrialStatus.TRIAL_STATUS_FAILED,
    finalLoss: NaN,
    finalError: NaN,
    stepsDone: 0,
    telemetryChunks: 0,
    telemetryPoints: 0,
  },
];

test('a columnar job result reads back as one TrialResult per trial, errors where they belong', () => {
  const msg = decode(
    v1.JobResult,
    encode(
      v1.JobResult,
      jobResultToProto({
        sweepId: 'sw',
        jobId: 'sw-j00001',
        instance: 'trainer-1',
        backend: 'native',
        wallS: 0.5,
        trials: outcomes,
        jobError: { code: 'UNAVAILABLE', message: 'worker lost' },
      }),
    ),
  );
  assert.deepEqual(jobResultOutcomes(msg), [
    { index: 4, status: 1 },
    { index: 5, status: 3 },
    { index: 9, status: 3 },
  ]);
  const trials = jobResultTrials(msg);
  assert.deepEqual(
    trials.map((t) => [
      t.trialId,
      t.status,
      t.stepsDone,
      t.telemetryPoints,
      t.error?.message ?? null,
    ]),
    [
      ['sw-t000004', 1, 10, 7, null],
      ['sw-t000005', 3, 3, 2, 'boom'],
      ['sw-t000009', 3, 0, 0, 'worker lost'],
    ],
  );
  assert.equal(trials[0]!.finalLoss, 0.25);
  assert.ok(Number.isNaN(trials[1]!.finalLoss));
  for (const t of trials) {
    assert.equal(t.sweepId, 'sw');
    assert.equal(t.jobId, 'sw-j00001');
    assert.equal(t.instance, 'trainer-1');
    assert.equal(t.backend, 'native');
    assert.equal(t.wallS, 0.5);
  }
});

test('a job result with columns of different lengths, unknown statuses or foreign trials is rejected; the old form still reads', () => {
  const good = jobResultToProto({
    sweepId: 'sw',
    jobId: 'j',
    instance: 'i',
    backend: 'b',
    wallS: 0,
    trials: outcomes,
  });
  const issues = (r: v1.IJobResult) => {
    try {
      jobResultOutcomes(r);
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return err.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    }
    assert.fail('expected a ValidationError');
  };
  assert.match(issues({ ...good, finalLoss: [1] }), /result\.finalLoss: 1 entries for 3 trials/);
  assert.match(
    issues({ ...good, statuses: new Uint8Array([1, 9, 1]) }),
    /result\.statuses\[1\]: no such status 9/,
  );
  assert.match(issues({ ...good, statuses: new Uint8Array([1, 0, 1]) }), /no such status 0/);
  assert.match(
    issues({ ...good, errors: [{ position: 3, error: {} }] }),
    /result\.errors: position 3/,
  );
  assert.match(issues({ sweepId: 'sw', jobId: 'j' }), /^result: no trials/);
  const old: v1.IJobResult = {
    sweepId: 'sw',
    jobId: 'j',
    results: [{ sweepId: 'sw', trialId: 'sw-t000002', status: 2, stepsDone: 4 }],
  };
  assert.deepEqual(jobResultOutcomes(old), [{ index: 2, status: 2 }]);
  assert.equal(jobResultTrials(old)[0]!.stepsDone, 4);
  assert.match(
    issues({ ...old, results: [{ sweepId: 'sw', trialId: 'other-t000002', status: 1 }] }),
    /'other-t000002' is not a trial of sweep 'sw'/,
  );
  assert.match(issues({ ...good, results: old.results }), /columnar or has results/);
});
