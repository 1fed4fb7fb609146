/**
 * Fault: the coordinator SIGKILLed and started again, (1) twice in the middle of a running sweep
 * and (2) in the middle of a submit, after the sweep was recorded but before all its jobs were
 * published, (3) in the middle of a resume, and (4) after an enqueue left half done by a coordinator
 * whose planner grouped the trials otherwise. What must hold: the new coordinator continues from KV
 * (recounts outcomes, finishes the interrupted enqueue without dropping a trial), and the sweep
 * completes with every trial recorded exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedKv, buckets, streams, subjects, sweepKeys } from '@dynlab/bus';
import { encode, v1 } from '@dynlab/proto';
import { compileSweep, jobToProto, planSweepJobs, sweepToProto } from '@dynlab/spec';
import { waitFor } from '@dynlab/testing';
import { auditSweep } from './sweep-audit';
import { startTestCluster } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const S = v1.SweepState;

test(
  'coordinator SIGKILLed and restarted twice mid-sweep: the sweep completes, nothing lost or doubled',
  { timeout: 180_000 },
  async () => {
    const trials = 480;
    const t = await startTestCluster({
      trainers: 1,
      threads: 2,
      noAnalyzer: true,
      serviceEnv: { trainer: { DYNLAB_CHUNK_POINTS: '4' } },
    });
    try {
      const { cluster, client } = t;
      const { status } = await client.submit(tinySweep({ trials, steps: 20_000, population: 4 }));
      const id = status.sweepId;
      const restartedAt: number[] = [];
      for (const fraction of [1 / 3, 2 / 3]) {
        const st = await waitFor(
          async () => {
            const s = (await client.get(id)).status;
            return (s.counts?.ok ?? 0) >= fraction * trials ? s : undefined;
          },
          `${Math.round(fraction * 100)}% of the trials`,
          90_000,
          100,
        );
        assert.equal(
          st.state,
          S.SWEEP_STATE_RUNNING,
          'the restart must come while the sweep runs (make the trials longer)',
        );
        restartedAt.push(st.counts?.ok ?? 0);
        await cluster.restartCoordinator();
      }
      const final = await client.waitFor(id, { intervalMs: 250, timeoutMs: 90_000 });
      assert.equal(final.state, S.SWEEP_STATE_COMPLETE);
      assert.equal(final.counts?.ok, trials, `counts: ${JSON.stringify(final.counts)}`);
      const audit = await auditSweep(client, id, trials);
      assert.deepEqual(audit.problems.slice(0, 20), []);
      assert.equal(audit.recordedOutcomes, trials);
      assert.deepEqual(audit.statuses, { ok: trials });
      process.stderr.write(
        `coordinator-restart: restarted at ${restartedAt.join(' and ')} of ${trials} trials recorded\n`,
      );
    } finally {
      await t.stop();
    }
  },
);

test(
  'coordinator SIGKILLed in the middle of a submit (sweep recorded, jobs half published, trials already done): the restarted one finishes the enqueue and the sweep completes',
  { timeout: 180_000 },
  async () => {
    // Many small jobs, so that the enqueue (fast since it publishes the bytes its check encoded)
    // is still running when a first result is recorded: a job per population (the planner would
    // put 16 of these tiny populations in a job), which the stored spec keeps for the restart.
    const trials = 8000;
    const population = 2;
    const t = await startTestCluster({ trainers: 1, threads: 2, noAnalyzer: true });
    try {
      const { cluster, client } = t;
      const kv = await TypedKv.open(client.bus, buckets.sweeps, v1.SweepStatus);
      const id = 'sw-midsubmit';
      const seqBefore = (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq;
      const submitting = client
        .submit(
          tinySweep({ trials, steps: 10, population, populationsPerJob: 1, name: 'mid-submit' }),
          {
            sweepId: id,
            timeoutMs: 5000,
          },
        )
        .then(
          () => 'answered',
          (err: { code?: string }) => err.code ?? 'error',
        );
      // Kill as soon as the sweep is recorded, its enqueue has begun, and a trainer's results are
      // recorded: the restarted coordinator must then finish an enqueue around trials that already
      // have outcomes.
      const seen = await waitFor(
        async () => {
          const st = (await kv.get(`sweep.${id}`))?.value;
          return st && (st.counts?.enqueued || (st.counts?.ok ?? 0) > 0) ? st : undefined;
        },
        'the sweep to be recorded, and a first result or the end of the enqueue',
        60_000,
        2,
      );
      assert.equal(
        seen.counts?.enqueued,
        false,
        `all ${seen.counts?.jobs} jobs were enqueued before a first result was recorded: nothing to test`,
      );
      await cluster.coordinator.kill('SIGKILL');
      const atKill = (await kv.get(`sweep.${id}`))!.value;
      const published =
        (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq - seqBefore;
      const jobs = atKill.counts!.jobs;
      assert.equal(jobs, trials / population);
      assert.deepEqual(atKill.counts?.packing, [1], 'the packing was recorded with the sweep');
      assert.equal(atKill.counts?.enqueued, false, 'killed before the enqueue finished');
      assert.ok(
        published > 0 && published < jobs,
        `${published} of ${jobs} jobs were published when the coordinator died`,
      );
      assert.equal(
        await submitting,
        'TIMEOUT',
        'the submitter hears nothing back from a dead coordinator',
      );

      await cluster.restartCoordinator();
      const final = await client
        .waitFor(id, { intervalMs: 250, timeoutMs: 60_000 })
        .catch(async () => (await client.get(id)).status);
      const queued = (await client.bus.jsm.streams.info(streams.jobs)).state.messages;
      assert.equal(
        final.state,
        S.SWEEP_STATE_COMPLETE,
        `counts: ${JSON.stringify(final.counts)}, ${queued} jobs in the queue`,
      );
      assert.equal(final.counts?.enqueued, true);
      assert.equal(final.counts?.ok, trials);
      const totalJobs =
        (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq - seqBefore;
      assert.equal(
        totalJobs,
        jobs,
        'every job published once: the finished enqueue added only the missing ones',
      );

      // A client that retries its submit with the same id gets the same sweep, and nothing is enqueued again.
      const again = await client.submit(
        tinySweep({ trials, steps: 10, population, populationsPerJob: 1, name: 'mid-submit' }),
        { sweepId: id },
      );
      assert.equal(again.status.sweepId, id);
      assert.equal(again.status.state, S.SWEEP_STATE_COMPLETE);
      assert.equal(
        (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq - seqBefore,
        jobs,
      );

      const audit = await auditSweep(client, id, trials, { telemetry: false });
      assert.deepEqual(audit.problems.slice(0, 20), []);
      assert.equal(audit.recordedOutcomes, trials);
      process.stderr.write(
        `coordinator-midsubmit: killed with ${published} of ${jobs} jobs published and ${atKill.counts?.ok} trials recorded\n`,
      );
    } finally {
      await t.stop();
    }
  },
);

test(
  'coordinator SIGKILLed in the middle of a resume (jobs half published, re-run trials already done): the restarted one publishes the same jobs and the sweep completes',
  { timeout: 180_000 },
  async () => {
    const trials = 8000;
    const population = 2;
    const t = await startTestCluster({ trainers: 1, threads: 2, noAnalyzer: true });
    try {
      const { cluster, client } = t;
      const kv = await TypedKv.open(client.bus, buckets.sweeps, v1.SweepStatus);
      const id = 'sw-midresume';
      const status = async () => (await kv.get(`sweep.${id}`))!.value;
      await client.submit(
        tinySweep({ trials, steps: 10, population, populationsPerJob: 1, name: 'mid-resume' }),
        {
          sweepId: id,
        },
      );
      await waitFor(
        async () => ((await status()).counts?.ok ?? 0) > 100 || undefined,
        'a hundred trials recorded',
        60_000,
        5,
      );
      await client.cancel(id);
      // Let the trainer's stopped jobs report (their trials end cancelled) before resuming.
      await waitFor(
        async () =>
          (await client.bus.jsm.consumers.info(streams.jobs, 'trainers')).num_ack_pending === 0 ||
          undefined,
        'the trainer to have no job in hand',
        30_000,
        50,
      );
      await new Promise((r) => setTimeout(r, 300));
      const before = await status();
      const rerun = trials - (before.counts?.ok ?? 0);
      const seqBefore = (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq;
      const resuming = client.resume(id).then(
        () => 'answered',
        (err: { code?: string }) => err.code ?? 'error',
      );
      // Kill once the resume is enqueueing and a re-run trial has been recorded: a plan made
      // again from the outcomes now would shift the job ids.
      const seen = await waitFor(
        async () => {
          const st = await status();
          return st.counts?.resumes === 1 &&
            (st.counts.enqueued || (st.counts.ok ?? 0) > (before.counts?.ok ?? 0))
            ? st
            : undefined;
        },
        'the resume to be enqueueing, and a first re-run trial recorded',
        60_000,
        2,
      );
      assert.equal(seen.counts?.enqueued, false, 'the resume enqueued everything before a result');
      assert.deepEqual(seen.counts?.packing, [1], "the resume's packing was recorded first");
      await cluster.coordinator.kill('SIGKILL');
      const published =
        (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq - seqBefore;
      const jobs = Math.ceil(rerun / population);
      assert.ok(published > 0 && published < jobs, `${published} of ${jobs} jobs published`);
      // The resume request dies with the coordinator; its reply never comes (the client gives up
      // after its own timeout, or when the test closes the connection).
      void resuming;

      await cluster.restartCoordinator();
      const final = await client
        .waitFor(id, { intervalMs: 250, timeoutMs: 60_000 })
        .catch(async () => (await client.get(id)).status);
      assert.equal(final.state, S.SWEEP_STATE_COMPLETE, `counts: ${JSON.stringify(final.counts)}`);
      assert.equal(final.counts?.ok, trials);
      assert.equal(
        (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq - seqBefore,
        jobs,
        'every job of the resume published once',
      );
      const audit = await auditSweep(client, id, trials, { telemetry: false });
      assert.deepEqual(audit.problems.slice(0, 20), []);
      assert.equal(audit.recordedOutcomes, trials);
      process.stderr.write(
        `coordinator-midresume: killed with ${published} of ${jobs} resume jobs published and ${(seen.counts?.ok ?? 0) - (before.counts?.ok ?? 0)} re-run trials recorded\n`,
      );
    } finally {
      await t.stop();
    }
  },
);

test(
  'an enqueue left half done by a coordinator whose planner packed jobs otherwise: the restarted one plans with the recorded packing, and the sweep completes with every trial run once',
  { timeout: 180_000 },
  async () => {
    // This version packs 16 of these tiny populations per job (32 jobs). A coordinator of another
    // version chose one population per job (512 jobs under the same ids -j00000...), recorded
    // that, and died after publishing the first 100. Planned with this version's choice, all 32
    // ids would be dropped by JetStream's dedup as already published, and 1,648 trials would
    // never run; planned with the recorded packing, the missing 412 jobs are published.
    const trials = 2048;
    const sweep = compileSweep(tinySweep({ trials, steps: 10, population: 4, name: 'other' }));
    const id = 'sw-otherpacking';
    assert.equal([...planSweepJobs(sweep, id)].length, 32, 'this version packs them');
    const recorded: number[] = [];
    const theirs = [...planSweepJobs(sweep, id, { populationsPerJob: 1, record: recorded })];
    assert.deepEqual(recorded, [1]);
    assert.equal(theirs.length, 512);
    const t = await startTestCluster({ trainers: 1, threads: 2, noAnalyzer: true });
    try {
      const { cluster, client } = t;
      await cluster.coordinator.kill('SIGKILL');
      const statuses = await TypedKv.open(client.bus, buckets.sweeps, v1.SweepStatus);
      const specs = await TypedKv.open(client.bus, buckets.sweeps, v1.SweepSpec);
      const now = Date.now();
      await statuses.put(sweepKeys.status(id), {
        sweepId: id,
        name: sweep.name,
        state: S.SWEEP_STATE_RUNNING,
        counts: { total: trials, jobs: theirs.length, enqueued: false, packing: recorded },
        createdMs: now,
        updatedMs: now,
      });
      await specs.put(sweepKeys.spec(id), sweepToProto(sweep));
      const seqBefore = (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq;
      for (const job of theirs.slice(0, 100))
        await client.bus.publishEncoded(
          subjects.jobs(id),
          v1.Job,
          encode(v1.Job, { ...jobToProto(id, job), createdMs: now }),
          { msgId: job.jobId },
        );

      await cluster.restartCoordinator();
      const final = await client
        .waitFor(id, { intervalMs: 250, timeoutMs: 90_000 })
        .catch(async () => (await client.get(id)).status);
      assert.equal(final.state, S.SWEEP_STATE_COMPLETE, `counts: ${JSON.stringify(final.counts)}`);
      assert.equal(final.counts?.ok, trials);
      assert.equal(final.counts?.enqueued, true);
      assert.equal(
        (await client.bus.jsm.streams.info(streams.jobs)).state.last_seq - seqBefore,
        theirs.length,
        'every job of the recorded plan published once',
      );
      const audit = await auditSweep(client, id, trials, { telemetry: false });
      assert.deepEqual(audit.problems.slice(0, 20), []);
      assert.equal(audit.recordedOutcomes, trials);
    } finally {
      await t.stop();
    }
  },
);
