/**
 * The real services under deploy/nats/permissions.conf: a nats-server with the file's users, and a
 * coordinator, a trainer and an analyzer (each its own process) logged in as their own users, the
 * trainer and the analyzer without creating the topology, as the file requires. The client the
 * `dynlab` CLI uses logs in as `cli`. One sweep runs end to end, a second is cancelled and resumed.
 *
 * Every log line of the services and of the client is kept, and none may report a permissions
 * violation: the services retry or work around a refused call (a job is redelivered, a KV watch
 * gives way to polling), so a sweep that completes does not show that nothing was refused.
 * nats-permissions.test.ts checks each rule with hand-written calls; this test finds the calls the
 * services make that those checks do not know about.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { streams, subjects } from '@dynlab/bus';
import { DynlabClient, type SweepStatus } from '@dynlab/client';
import { startLocalCluster, type LocalCluster } from '@dynlab/cluster';
import { createLogger } from '@dynlab/core';
import { waitFor, type NatsServerHandle } from '@dynlab/testing';
import { natsPasswords, startNatsWithUsers, type NatsUser } from './nats-users';

/** Every log line (JSON) of the services and the client, warnings and errors. */
const logs: string[] = [];

/** The log lines that report a refused call, without their time and instance, each once. */
function denials(): string[] {
  const out = new Set<string>();
  for (const line of logs) {
    if (!/permissions?[ _]violation/i.test(line)) continue;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      delete fields.time;
      delete fields.instance;
      out.add(JSON.stringify(fields));
    } catch {
      out.add(line);
    }
  }
  return [...out].sort();
}

let nats: NatsServerHandle;
let cluster: LocalCluster | undefined;
let client: DynlabClient | undefined;
let stopping: Promise<void> | undefined;

/** Stops the client, the services and the server, once (the last test stops them to see shutdown too). */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    await client?.close();
    await cluster?.stop();
    await nats?.cleanup();
  })();
  return stopping;
}

const login = (user: NatsUser) => ({
  DYNLAB_NATS_USER: user,
  DYNLAB_NATS_PASS: natsPasswords[user],
});

before(async () => {
  nats = await startNatsWithUsers();
  cluster = await startLocalCluster({
    natsUrl: nats.url,
    trainers: 1,
    threads: 1,
    // A 32 MB worker heap and two deliveries: the poison job below fails fast (the other trials
    // need far less memory).
    env: { DYNLAB_LOG_LEVEL: 'warn', DYNLAB_HEARTBEAT_S: '1', DYNLAB_JOB_MAX_DELIVER: '2' },
    serviceEnv: {
      coordinator: login('coordinator'),
      trainer: {
        ...login('trainer'),
        DYNLAB_NATS_CREATE_TOPOLOGY: 'false',
        DYNLAB_WORKER_HEAP_MB: '32',
      },
      analyzer: { ...login('analyzer'), DYNLAB_NATS_CREATE_TOPOLOGY: 'false' },
    },
    onLog: (line) => logs.push(line),
  });
  client = await DynlabClient.connect({
    servers: nats.url,
    user: 'cli',
    pass: natsPasswords.cli,
    logger: createLogger({ level: 'warn', fields: { service: 'cli' }, write: (l) => logs.push(l) }),
  });
  // The bus logs a refused call without its subject (the client's code mostly works around it):
  // the client's refusals are kept with the subject and operation.
  const status = client.bus.nc.status();
  void (async () => {
    for await (const s of status)
      if (s.permissionContext)
        logs.push(JSON.stringify({ service: 'cli', error: s.data, refused: s.permissionContext }));
  })();
});

after(stopAll);

/** The frequent feature present or knocked out, `seeds` trials each. */
function sweepSpec(o: { steps: number; seeds: number; population: number }) {
  return {
    name: 'permissions',
    base: {
      data: { features: { n: 64, features: [{ frequency: 1 }, { frequency: 0.25 }] } },
      model: { kind: 'relu', hidden: [8] },
      init: { scale: 0.1 },
      optimizer: { learningRate: 0.5 },
      steps: o.steps,
      record: { logPoints: 20 },
    },
    axes: [{ path: 'data.features.features[0].knockedOut', values: [false, true] }],
    seeds: o.seeds,
    population: o.population,
  };
}

const state = (st: SweepStatus) => DynlabClient.plain(st).state;
const outcomes = (st: SweepStatus) => ({
  ok: st.counts?.ok ?? 0,
  diverged: st.counts?.diverged ?? 0,
  failed: st.counts?.failed ?? 0,
  cancelled: st.counts?.cancelled ?? 0,
});

test('a sweep runs end to end with each service as its own user; the CLI user sees it end through the KV watch and reads back results, telemetry and findings', async (t) => {
  const c = client!;
  const steps = 80;
  const { status, sweep } = await c.submit(sweepSpec({ steps, seeds: 4, population: 4 }));
  const id = status.sweepId;
  assert.equal(sweep.trialCount, 8);
  const gets = t.mock.method(c, 'get');
  const final = await c.waitFor(id, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(
    gets.mock.callCount(),
    1,
    'waitFor asked the coordinator once, then watched the status in KV (a poll asks every 250 ms)',
  );
  gets.mock.restore();
  assert.equal(state(final), 'SWEEP_STATE_COMPLETE');
  assert.deepEqual(outcomes(final), { ok: 8, diverged: 0, failed: 0, cancelled: 0 });

  const results = new Map<string, { jobId: string; stepsDone: number; chunks: number }>();
  for await (const r of c.results(id))
    results.set(r.trialId, { jobId: r.jobId, stepsDone: r.stepsDone, chunks: r.telemetryChunks });
  assert.equal(results.size, 8, 'a result for every trial');
  const chunks = new Map<string, number>();
  for await (const ch of c.telemetry(id))
    chunks.set(`${ch.trialId}/${ch.jobId}`, (chunks.get(`${ch.trialId}/${ch.jobId}`) ?? 0) + 1);
  for (const [trial, r] of results) {
    assert.ok(trial.startsWith(`${id}-t`), trial);
    assert.equal(r.stepsDone, steps, `${trial}: steps done`);
    assert.ok(r.chunks > 0, `${trial}: telemetry recorded`);
    assert.equal(chunks.get(`${trial}/${r.jobId}`), r.chunks, `${trial}: telemetry read back`);
  }

  // The analyzer reads the sweep's spec from KV and its telemetry and results from their streams;
  // the coordinator counts each finding it records in KV.
  const findings = await waitFor(
    async () => {
      const fs = await c.findings(id);
      const counted = (await c.get(id)).status.findings;
      const trials = new Set(fs.filter((f) => f.kind === 'gradient-share').map((f) => f.trialId));
      return trials.size === 8 && counted === fs.length ? fs : undefined;
    },
    'a gradient-share finding of each trial, each counted by the coordinator',
    30_000,
    250,
  );
  assert.deepEqual([...new Set(findings.map((f) => f.sweepId))], [id]);
});

test('a sweep cancelled and resumed by the CLI user: the resumed run completes every trial', async (t) => {
  const c = client!;
  // Long jobs of two trials each, so the sweep is still running when it is cancelled.
  const steps = 40_000;
  const { status } = await c.submit(sweepSpec({ steps, seeds: 8, population: 2 }));
  const id = status.sweepId;
  const gets = t.mock.method(c, 'get');
  const twoDone = new AbortController();
  const progress = await c.waitFor(id, {
    timeoutMs: 60_000,
    intervalMs: 250,
    signal: twoDone.signal,
    onStatus: (st) => {
      if ((st.counts?.ok ?? 0) >= 2) twoDone.abort();
    },
  });
  assert.equal(gets.mock.callCount(), 1, 'progress seen through the KV watch, not by polling');
  gets.mock.restore();
  assert.equal(state(progress), 'SWEEP_STATE_RUNNING');

  // The trainer stops the sweep's jobs once it reads the cancelled state from KV.
  const cancelled = await c.cancel(id);
  assert.equal(state(cancelled), 'SWEEP_STATE_CANCELLED');
  const resumed = await c.resume(id);
  assert.equal(state(resumed.status), 'SWEEP_STATE_RUNNING');
  assert.ok(
    resumed.requeued > 0 && resumed.requeued <= 16 - 2,
    `re-enqueued only trials without an outcome: ${resumed.requeued}`,
  );
  const final = await c.waitFor(id, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(state(final), 'SWEEP_STATE_COMPLETE');
  assert.deepEqual(outcomes(final), { ok: 16, diverged: 0, failed: 0, cancelled: 0 });
  const complete = new Set<string>();
  for await (const r of c.results(id)) if (r.stepsDone === steps) complete.add(r.trialId);
  assert.equal(complete.size, 16, 'every trial ran to its last step in one run or the other');
});

test('a job that fails on every delivery is dead-lettered: the coordinator marks its trials failed, the CLI user reads the dead letter', async () => {
  const c = client!;
  // Trials on 2,000,000 points run the trainer's worker out of its 32 MB heap on every delivery
  // (a genuine poison job, as in reliability-tests' poison-job.test.ts).
  const spec = {
    ...sweepSpec({ steps: 80, seeds: 2, population: 2 }),
    axes: [{ path: 'data.features.n', values: [64, 2_000_000] }],
  };
  const { status } = await c.submit(spec);
  const id = status.sweepId;
  assert.equal(status.counts?.jobs, 2, 'one job of two ordinary trials, one of two poison trials');
  const final = await c.waitFor(id, { timeoutMs: 90_000, intervalMs: 250 });
  assert.equal(state(final), 'SWEEP_STATE_COMPLETE');
  assert.deepEqual(outcomes(final), { ok: 2, diverged: 0, failed: 2, cancelled: 0 });
  let results = 0;
  for await (const _ of c.results(id)) results++;
  assert.equal(results, 4, "the coordinator's results of the failed trials are in the stream");
  const dead: Uint8Array[] = [];
  for await (const d of c.read(streams.deadLetter, subjects.deadLetter('dynlab_jobs'), (b) => b))
    dead.push(d);
  assert.equal(dead.length, 1, 'the poison job, dead-lettered once');
});

test('no service and not the CLI was refused anything, start to shutdown', async () => {
  await stopAll();
  assert.deepEqual(denials(), []);
});
