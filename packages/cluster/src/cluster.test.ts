/**
 * The cluster end to end (issue 4): real nats-server, coordinator, trainers and analyzer as
 * separate processes, driven through the client the CLI uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { ErrorCode, ValidationError } from '@dynlab/core';
import { streams, subjects } from '@dynlab/bus';
import { v1 } from '@dynlab/proto';
import { compileSweep, sweepToProto } from '@dynlab/spec';
import { DynlabClient } from '@dynlab/client';
import { startLocalCluster, type LocalCluster } from './index';

const S = v1.SweepState;
const quiet = { DYNLAB_LOG_LEVEL: 'warn', DYNLAB_JOB_ACK_WAIT_S: '2', DYNLAB_TRAINER_THREADS: '1' };

function sweepSpec(opts: { seeds?: number; steps?: number; population?: number; n?: number } = {}) {
  return {
    name: 'e2e',
    base: {
      data: { features: { n: opts.n ?? 64, features: [{ frequency: 1 }, { frequency: 0.25 }] } },
      model: { kind: 'relu', hidden: [8] },
      init: { scale: 0.1 },
      optimizer: { learningRate: 0.5 },
      steps: opts.steps ?? 80,
      record: {
        logPoints: 20,
        probes: [
          { name: 'e1', x: [1, 0] },
          { name: 'e2', x: [0, 1] },
        ],
      },
    },
    axes: [
      { path: 'model.hidden', values: [[8], [16]] },
      { path: 'data.features.features[0].knockedOut', values: [false, true] },
    ],
    seeds: opts.seeds ?? 16,
    population: opts.population ?? 8,
  };
}

/** Trials of a sweep with an outcome. */
const finishedCount = (st: v1.SweepStatus) =>
  (st.counts?.ok ?? 0) +
  (st.counts?.diverged ?? 0) +
  (st.counts?.failed ?? 0) +
  (st.counts?.cancelled ?? 0);

async function withCluster(
  opts: Parameters<typeof startLocalCluster>[0],
  fn: (c: LocalCluster, client: DynlabClient) => Promise<void>,
) {
  const cluster = await startLocalCluster({ ...opts, env: { ...quiet, ...(opts?.env ?? {}) } });
  const client = await DynlabClient.connect({ servers: cluster.natsUrl });
  try {
    await fn(cluster, client);
  } finally {
    await client.close();
    await cluster.stop();
  }
}

/** Results per trial id and chunks per trial and job (`trial/job`), read back from the streams. */
async function readBack(client: DynlabClient, sweepId: string) {
  const results = new Map<string, v1.TrialResult[]>();
  for await (const r of client.results(sweepId))
    results.set(r.trialId, [...(results.get(r.trialId) ?? []), r]);
  const chunks = new Map<string, Map<number, v1.TelemetryChunk>>();
  for await (const c of client.telemetry(sweepId)) {
    const key = `${c.trialId}/${c.jobId}`;
    const m = chunks.get(key) ?? new Map<number, v1.TelemetryChunk>();
    m.set(c.chunkIndex, c);
    chunks.set(key, m);
  }
  return { results, chunks };
}

/** Every trial has exactly one outcome and a complete telemetry series (chunks 0..n-1, the last flagged). */
function assertExactlyOnce(
  sweepId: string,
  total: number,
  back: Awaited<ReturnType<typeof readBack>>,
) {
  assert.equal(back.results.size, total, 'a result for every trial');
  for (const [trial, rs] of back.results) {
    // Results of one job (a redelivery) must agree; a later job (a resume) supersedes.
    for (const job of new Set(rs.map((r) => r.jobId)))
      assert.equal(
        new Set(rs.filter((r) => r.jobId === job).map((r) => r.status)).size,
        1,
        `${trial}: results of ${job} disagree`,
      );
    const r = rs[rs.length - 1]!;
    if (r.status !== v1.TrialStatus.TRIAL_STATUS_OK) continue;
    // The series of a trial is its result's job's (a resumed trial has a partial earlier one).
    const chunks = back.chunks.get(`${trial}/${r.jobId}`);
    assert.ok(chunks, `${trial}: no telemetry`);
    assert.equal(chunks.size, r.telemetryChunks, `${trial}: chunk count`);
    for (let i = 0; i < r.telemetryChunks; i++)
      assert.ok(chunks.has(i), `${trial}: chunk ${i} missing`);
    assert.equal(chunks.get(r.telemetryChunks - 1)!.last, true, `${trial}: last chunk flagged`);
    const points = [...chunks.values()].reduce((n, c) => n + c.steps.length, 0);
    assert.equal(points, r.telemetryPoints, `${trial}: recorded points`);
  }
  assert.ok([...back.results.keys()].every((id) => id.startsWith(`${sweepId}-t`)));
}

function metrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test('a sweep of 64 trials in two shapes runs end to end: one result each, telemetry, findings, complete', async () => {
  await withCluster({ trainers: 1 }, async (cluster, client) => {
    const { status, sweep } = await client.submit(sweepSpec());
    assert.equal(sweep.trialCount, 64);
    assert.equal(status.counts?.total, 64);
    assert.equal(status.counts?.jobs, 8, '2 shapes x 32 trials in populations of 8');
    // The end is seen from the status's KV watch: a poll every ten minutes would time out.
    const seen: number[] = [];
    const final = await client.waitFor(status.sweepId, {
      timeoutMs: 120_000,
      intervalMs: 600_000,
      onStatus: (st) => seen.push(finishedCount(st)),
    });
    assert.equal(final.state, S.SWEEP_STATE_COMPLETE);
    assert.deepEqual(
      { total: final.counts?.total, ok: final.counts?.ok, failed: final.counts?.failed ?? 0 },
      { total: 64, ok: 64, failed: 0 },
    );
    assert.ok(seen.length >= 2 && seen.at(-1) === 64, `statuses seen: ${seen.join(', ')}`);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'progress only grows',
    );
    const back = await readBack(client, status.sweepId);
    assertExactlyOnce(status.sweepId, 64, back);
    assert.equal(
      new Set([...back.results.values()].map((rs) => rs[0]!.backend)).size,
      1,
      'one backend reported',
    );
    // findings from a built-in analyzer: the frequent feature starves the rare one when present
    let starved: number = 0;
    for (let i = 0; i < 40 && starved === 0; i++) {
      starved = (await client.findings(status.sweepId)).filter(
        (f) => f.kind === 'starved-feature',
      ).length;
      if (starved === 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(starved > 0, 'starved-feature findings');
    const m = await metrics(cluster.coordinator.metricsPort);
    assert.match(
      m,
      new RegExp(
        `dynlab_coordinator_trials_total\\{[^}]*sweep="${status.sweepId}"[^}]*outcome="ok"[^}]*\\} 64`,
      ),
    );
  });
});

test('a sweep of tiny trials runs as jobs of several populations: each trial once, telemetry whole', async () => {
  await withCluster({ trainers: 1 }, async (cluster, client) => {
    // 256 trials of 40 steps on 16 points in populations of 4: 64 populations, two per job.
    const { status } = await client.submit(
      sweepSpec({ seeds: 64, steps: 40, population: 4, n: 16 }),
    );
    assert.equal(status.counts?.jobs, 32);
    const final = await client.waitFor(status.sweepId, { timeoutMs: 120_000 });
    assert.equal(final.state, S.SWEEP_STATE_COMPLETE);
    assert.equal(final.counts?.ok, 256);
    assertExactlyOnce(status.sweepId, 256, await readBack(client, status.sweepId));
    const m = await metrics(cluster.trainers[0]!.metricsPort);
    assert.match(m, /dynlab_trainer_jobs_total\{[^}]*outcome="ok"[^}]*\} 32\n/);
    assert.match(m, /dynlab_trainer_populations_total\{[^}]*\} 64\n/);
  });
});

test('two trainers, one killed with SIGKILL mid-job: the sweep completes with every trial recorded once', async () => {
  await withCluster({ trainers: 2 }, async (cluster, client) => {
    const { status } = await client.submit(
      sweepSpec({ seeds: 8, steps: 1500, population: 2, n: 128 }),
    );
    const victim = cluster.trainers[0]!;
    // wait until the victim is running a job, then kill it without warning
    for (let i = 0; ; i++) {
      const m = await metrics(victim.metricsPort);
      if (/dynlab_trainer_pool_utilization_ratio\{[^}]*\} 1\b/.test(m)) break;
      assert.ok(i < 400, 'the victim never picked up a job');
      await new Promise((r) => setTimeout(r, 50));
    }
    await victim.kill('SIGKILL');
    const final = await client.waitFor(status.sweepId, { timeoutMs: 180_000 });
    assert.equal(final.state, S.SWEEP_STATE_COMPLETE);
    assert.equal(final.counts?.ok, 32);
    assertExactlyOnce(status.sweepId, 32, await readBack(client, status.sweepId));
  });
});

test('cancel drops queued jobs and stops the sweep; resume re-enqueues only what has no outcome', async () => {
  await withCluster({ trainers: 1 }, async (_cluster, client) => {
    // Long enough that the sweep is still running when the first results are seen: a job of two
    // trials takes about 0.2 s on the native backend (at 600 steps, 5 ms: the sweep could end
    // between two polls).
    const { status } = await client.submit(sweepSpec({ seeds: 8, steps: 40_000, population: 2 }));
    const id = status.sweepId;
    // cancel as soon as some trials are done
    for (let i = 0; ; i++) {
      const st = (await client.get(id)).status;
      if ((st.counts?.ok ?? 0) >= 2) break;
      assert.ok(i < 600, 'no trial finished');
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancelled = await client.cancel(id);
    assert.equal(cancelled.state, S.SWEEP_STATE_CANCELLED);
    const queued = await client.bus.jsm.streams.info(streams.jobs, {
      subjects_filter: subjects.jobs(id),
    } as never);
    assert.equal(
      queued.state.subjects?.[subjects.jobs(id)] ?? 0,
      0,
      'no queued jobs left for the sweep',
    );
    await new Promise((r) => setTimeout(r, 1500)); // running jobs finish (as cancelled) at their next heartbeat
    const after = (await client.get(id)).status;
    const done = (after.counts?.ok ?? 0) + (after.counts?.diverged ?? 0);
    assert.ok(done < 32, `cancel stopped the sweep early (done ${done})`);
    // Six resumes at once: one takes the next resume number, the others are refused (they read
    // the same number and would plan under the same job ids).
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.resume(id).then(
          (r) => r,
          (err: { code?: string }) => err.code ?? 'error',
        ),
      ),
    );
    const wins = replies.filter((r) => typeof r !== 'string');
    assert.equal(
      wins.length,
      1,
      `replies: ${JSON.stringify(replies.map((r) => (typeof r === 'string' ? r : 'ok')))}`,
    );
    assert.ok(replies.every((r) => typeof r !== 'string' || r === ErrorCode.Conflict));
    const resumed = wins[0]!;
    assert.equal(
      resumed.requeued,
      32 - done,
      'only trials without an outcome (or cancelled) are re-enqueued',
    );
    const final = await client.waitFor(id, { timeoutMs: 180_000 });
    assert.equal(final.state, S.SWEEP_STATE_COMPLETE);
    assert.equal(final.counts?.ok, 32);
    assert.equal(final.counts?.cancelled ?? 0, 0);
    assertExactlyOnce(id, 32, await readBack(client, id));
  });
});

test('a coordinator killed and restarted mid-sweep loses nothing', async () => {
  await withCluster({ trainers: 1 }, async (cluster, client) => {
    const { status } = await client.submit(sweepSpec({ seeds: 8, steps: 400, population: 2 }));
    for (let i = 0; ; i++) {
      if (((await client.get(status.sweepId)).status.counts?.ok ?? 0) >= 3) break;
      assert.ok(i < 600, 'no trial finished');
      await new Promise((r) => setTimeout(r, 50));
    }
    await cluster.restartCoordinator();
    const final = await client.waitFor(status.sweepId, { timeoutMs: 180_000 });
    assert.equal(final.state, S.SWEEP_STATE_COMPLETE);
    assert.equal(final.counts?.ok, 32);
    assertExactlyOnce(status.sweepId, 32, await readBack(client, status.sweepId));
  });
});

test('an invalid sweep is rejected at submit with every problem listed, and nothing is enqueued', async () => {
  await withCluster({ trainers: 1, noAnalyzer: true }, async (_cluster, client) => {
    const good = compileSweep(sweepSpec());
    const wire = sweepToProto(good);
    wire.base!.steps = 0;
    wire.population = 5000;
    wire.axes = [
      v1.Axis.create({ path: 'optimizer.nope', valuesJson: ['1'] }),
      v1.Axis.create({ path: 'init.scale', valuesJson: [] }),
    ];
    const before = (await client.bus.jsm.streams.info(streams.jobs)).state.messages;
    await assert.rejects(client.submitRaw(wire), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.equal(err.code, ErrorCode.Validation);
      const text = err.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
      assert.match(text, /^base\.steps: /m);
      assert.match(text, /^population: at most 1024, got 5000$/m);
      assert.match(text, /^axes\[0\]\.path: 'optimizer\.nope' is not a field of the base trial$/m);
      assert.match(text, /^axes\[1\]\.values: expected a non-empty list, got \[\]$/m);
      return true;
    });
    assert.equal(
      (await client.bus.jsm.streams.info(streams.jobs)).state.messages,
      before,
      'nothing enqueued',
    );
    assert.deepEqual(await client.list(), [], 'nothing recorded');
  });
});
