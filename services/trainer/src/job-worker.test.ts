/** The trainer's job worker in a real worker thread (a piscina pool, as the trainer runs it). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import Piscina from 'piscina';
import { runPopulation } from '@dynlab/engine';
import { decode, encode, v1 } from '@dynlab/proto';
import {
  appendColumns,
  compileSweep,
  emptyColumns,
  expandSweep,
  jobResultToProto,
  jobResultTrials,
  jobToProto,
  planSweepJobs,
  type TelemetryColumns,
} from '@dynlab/spec';
import { waitFor } from '@dynlab/testing';
import { encodeJobResult, type JobTaskResult, type JobWorkerMessage } from './job-worker';

const pool = new Piscina({
  filename: path.join(__dirname, 'job-worker.js'),
  minThreads: 1,
  maxThreads: 1,
});
after(() => pool.destroy());

const sweepSpec = {
  base: {
    data: { features: { n: 12, features: [{}, { frequency: 0.5 }] } },
    model: { kind: 'relu', hidden: [3] },
    steps: 30,
    record: { every: 1 },
  },
  axes: [{ path: 'optimizer.learningRate', values: [0.1, 0.3] }],
  seeds: 3,
};
const sweep = compileSweep(sweepSpec);

/** Runs a job's bytes in the pool; collects what the worker posts and returns. */
async function runJob(job: Uint8Array, maxPayload = 1 << 20) {
  const { port1, port2 } = new MessageChannel();
  const batches: { bytes: Uint8Array; msgId: string; chunks: number }[] = [];
  let messages = 0;
  let progress = 0;
  port2.on('message', (m: JobWorkerMessage) => {
    if (m.kind === 'progress') progress++;
    if (m.kind !== 'telemetry') return;
    messages++;
    batches.push(...m.batches);
  });
  const res = (await pool.run(
    { job, backend: 'wasm', chunkPoints: 10, maxPayload, instance: 'trainer-t', port: port1 },
    { transferList: [port1] },
  )) as JobTaskResult;
  // The result says how many telemetry messages came before it on the other channel.
  if ('summary' in res)
    await waitFor(() => messages >= res.summary.telemetryMessages, 'the last batches');
  port2.close();
  return { res, batches, messages, progress };
}

test("a job's bytes become its telemetry batches and results, as the engine's own run gives them", async () => {
  const [plan] = [...planSweepJobs(sweep, 'sw')];
  const { res, batches, messages } = await runJob(encode(v1.Job, jobToProto('sw', plan!)));
  assert.ok('results' in res, JSON.stringify(res));
  const trials = [...expandSweep(sweep, 'sw')];
  const here = await runPopulation(trials, { backend: 'wasm', chunkPoints: 10 });

  // Results: one message, dedup id the job id, one entry per trial, as the engine ended them.
  assert.deepEqual(
    res.results.map((m) => m.msgId),
    [plan!.jobId],
  );
  const results = jobResultTrials(decode(v1.JobResult, res.results[0]!.bytes));
  assert.deepEqual(
    results.map((r) => [r.trialId, r.status, r.stepsDone, r.finalLoss, r.telemetryPoints]),
    here.outcomes.map((o, i) => [trials[i]!.id, 1, o.stepsDone, Math.fround(o.finalLoss), 31]),
  );
  assert.deepEqual(res.summary.statuses, { ok: 6 });
  assert.equal(res.summary.steps, 6 * 30);
  assert.equal(res.summary.telemetryMessages, messages);

  // Telemetry: chunk k of every trial in one batch; each trial's series is the engine's.
  assert.deepEqual(
    batches.map((b) => b.msgId),
    [0, 1, 2, 3].map((k) => `${plan!.jobId}:c${k}:p0`),
  );
  const series = trials.map(() => emptyColumns());
  for (const b of batches)
    for (const c of decode(v1.TelemetryBatch, b.bytes).chunks) {
      const i = trials.findIndex((t) => t.id === c.trialId);
      appendColumns(series[i]!, c as unknown as TelemetryColumns);
    }
  series.forEach((s, i) => {
    assert.deepEqual(s.steps, here.telemetry![i]!.steps);
    assert.deepEqual(s.loss, here.telemetry![i]!.loss.map(Math.fround));
  });
});

test('a job of several populations runs them one after another: each trial as its own population gives it', async () => {
  // Six trials in populations of two: one job of three populations.
  const packed = compileSweep({ ...sweepSpec, population: 2 });
  const plans = [...planSweepJobs(packed, 'sw', { populationsPerJob: 3 })];
  assert.deepEqual(
    plans.map((p) => [p.trialCount, p.population]),
    [[6, 2]],
  );
  const wire = jobToProto('sw', plans[0]!);
  assert.equal(wire.population, 2);
  const started = performance.now();
  const { res, batches, messages, progress } = await runJob(encode(v1.Job, wire));
  assert.ok('results' in res, JSON.stringify(res));
  assert.equal(res.summary.populations, 3);
  // The engine reports progress at the end of each population; a job shorter than the 0.5 s
  // between reports sends none (each would cost the trainer a message to the server).
  if (performance.now() - started < 500) assert.equal(progress, 0);
  assert.equal(res.summary.telemetryMessages, messages);
  assert.deepEqual(res.summary.statuses, { ok: 6 });
  const trials = [...expandSweep(packed, 'sw')];
  const groups = [trials.slice(0, 2), trials.slice(2, 4), trials.slice(4)];
  const here = await Promise.all(
    groups.map((g) => runPopulation(g, { backend: 'wasm', chunkPoints: 10 })),
  );
  const outcomes = here.flatMap((r) => r.outcomes);
  const telemetry = here.flatMap((r) => r.telemetry!);
  const results = jobResultTrials(decode(v1.JobResult, res.results[0]!.bytes));
  assert.deepEqual(
    results.map((r) => [r.trialId, r.stepsDone, r.finalLoss, r.telemetryPoints]),
    outcomes.map((o, i) => [trials[i]!.id, o.stepsDone, Math.fround(o.finalLoss), 31]),
  );
  // Telemetry batches still hold chunk k of all six trials, whichever population ran them.
  assert.deepEqual(
    batches.map((b) => b.msgId),
    [0, 1, 2, 3].map((k) => `${plans[0]!.jobId}:c${k}:p0`),
  );
  const series = trials.map(() => emptyColumns());
  for (const b of batches)
    for (const c of decode(v1.TelemetryBatch, b.bytes).chunks) {
      const i = trials.findIndex((t) => t.id === c.trialId);
      appendColumns(series[i]!, c as unknown as TelemetryColumns);
    }
  series.forEach((s, i) => assert.deepEqual(s.loss, telemetry[i]!.loss.map(Math.fround)));
  // A job of one population says nothing of populations on the wire (any trainer reads it alike).
  const single = [...planSweepJobs(packed, 'sw', { populationsPerJob: 1 })];
  assert.equal(single.length, 3);
  assert.equal(jobToProto('sw', single[0]!).population, 0);
});

test('an invalid job comes back as a VALIDATION error naming its field (it is then dead-lettered)', async () => {
  const [plan] = [...planSweepJobs(sweep, 'sw')];
  const job = jobToProto('sw', plan!);
  job.ranges![0]!.template = 9;
  const { res } = await runJob(encode(v1.Job, job));
  assert.ok('error' in res);
  assert.equal(res.error.code, 'VALIDATION');
  assert.match(res.error.message, /job\.ranges\[0\]\.template: no template 9/);
  const { res: garbage } = await runJob(new Uint8Array([0xff, 0xff, 0xff]));
  assert.ok('error' in garbage && garbage.error.code === 'DECODE');
});

test('results over the max payload go out in parts, split the same way every time, together the whole', () => {
  const trials = Array.from({ length: 40 }, (_, i) => ({
    index: i,
    status: v1.TrialStatus.TRIAL_STATUS_FAILED,
    finalLoss: NaN,
    finalError: NaN,
    stepsDone: i,
    telemetryChunks: 1,
    telemetryPoints: 2,
    error: { code: 'BACKEND', message: `trial ${i}: ${'x'.repeat(900)}` },
  }));
  const whole = jobResultToProto({
    sweepId: 'sw',
    jobId: 'sw-j00003',
    instance: 't',
    backend: 'wasm',
    wallS: 1,
    trials,
  });
  const parts = encodeJobResult(whole, 8 * 1024);
  assert.ok(parts.length >= 5, `${parts.length} parts`);
  assert.deepEqual(
    parts.map((p) => p.msgId),
    parts.map((_, k) => `sw-j00003:p${k}`),
  );
  for (const p of parts) assert.ok(p.bytes.length <= 8 * 1024, `${p.bytes.length} bytes`);
  const again = encodeJobResult(whole, 8 * 1024);
  assert.deepEqual(
    again.map((p) => Buffer.from(p.bytes).toString('hex')),
    parts.map((p) => Buffer.from(p.bytes).toString('hex')),
  );
  const read = parts.flatMap((p) => jobResultTrials(decode(v1.JobResult, p.bytes)));
  assert.deepEqual(
    read.map((r) => [r.trialId, r.stepsDone, r.error?.message]),
    trials.map((t) => [`sw-t${String(t.index).padStart(6, '0')}`, t.stepsDone, t.error.message]),
  );
  assert.deepEqual(
    encodeJobResult(whole, 1 << 20).map((p) => p.msgId),
    ['sw-j00003'],
  );
});
