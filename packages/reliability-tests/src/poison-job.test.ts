/**
 * Fault: a job that always kills its worker thread. The poison here is genuine, not a test hook:
 * trials on 2,000,000 points build their dataset in the worker's JS heap, which the trainer caps
 * with piscina's resourceLimits (DYNLAB_WORKER_HEAP_MB=32), so the worker dies with
 * ERR_WORKER_OUT_OF_MEMORY on every delivery. What must hold: the job is redelivered up to the
 * limit (DYNLAB_JOB_MAX_DELIVER=3), then dead-lettered with the reason; its trials end `failed`
 * with that reason; the rest of the sweep completes; the pool keeps its size; and the trainer
 * process (the worker's host) stays up and serves later sweeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streams, subjects } from '@dynlab/bus';
import { TrainerMetricNames } from '@dynlab/metrics';
import { v1 } from '@dynlab/proto';
import { jobTrialMessages } from '@dynlab/spec';
import { waitFor } from '@dynlab/testing';
import { auditSweep } from './sweep-audit';
import { healthy, scrape, metricSum } from './scrape-metrics';
import { startTestCluster, stillRunning } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const POISON_N = 2_000_000;

test(
  'a job that runs its worker out of memory: redelivered to the limit, dead-lettered, its trials failed with the reason; the trainer and its pool live on',
  { timeout: 180_000 },
  async () => {
    const t = await startTestCluster({
      trainers: 1,
      threads: 2,
      noAnalyzer: true,
      // A long ack wait: on a loaded machine a worker's restart must not let JetStream redeliver
      // on its own (that would end the job by the max-deliveries advisory, without this reason).
      env: { DYNLAB_JOB_MAX_DELIVER: '3', DYNLAB_JOB_ACK_WAIT_S: '120' },
      serviceEnv: { trainer: { DYNLAB_WORKER_HEAP_MB: '32', DYNLAB_HEARTBEAT_S: '1' } },
    });
    try {
      const { cluster, client } = t;
      const trainer = cluster.trainers[0]!;
      const beats: v1.ServiceHeartbeat[] = [];
      const listening = client.bus.subscribe(
        subjects.heartbeat('trainer', trainer.instance),
        v1.ServiceHeartbeat,
        (h) => beats.push(h),
      );
      const spec = {
        name: 'poison',
        base: {
          data: { features: { n: 16, features: [{ frequency: 1 }, { frequency: 0.5 }] } },
          model: { kind: 'relu', hidden: [4] },
          steps: 50,
          record: { logPoints: 8 },
        },
        axes: [
          { path: 'optimizer.learningRate', values: [0.1, 0.2, 0.3, 0.4] },
          { path: 'data.features.n', values: [16, POISON_N] },
        ],
        seeds: 2,
        population: 4,
      };
      const { status, sweep } = await client.submit(spec);
      const id = status.sweepId;
      assert.equal(sweep.trialCount, 16);
      assert.equal(status.counts?.jobs, 4, 'two jobs of 4 ordinary trials, two of 4 poison trials');

      const final = await client.waitFor(id, { intervalMs: 250, timeoutMs: 120_000 });
      assert.equal(final.state, v1.SweepState.SWEEP_STATE_COMPLETE);
      assert.equal(final.counts?.ok, 8, `counts: ${JSON.stringify(final.counts)}`);
      assert.equal(final.counts?.failed, 8);

      // Each poison job was dead-lettered once, on its third and last delivery, with the reason.
      const dead: v1.DeadLetter[] = [];
      for await (const d of client.read(
        streams.deadLetter,
        subjects.deadLetter('dynlab_jobs'),
        (b) => v1.DeadLetter.decode(b),
      ))
        dead.push(d);
      const poisonJobs = dead.filter((d) => d.subject === subjects.jobs(id));
      const advisories: string[] = [];
      for await (const a of client.read(streams.deadLetter, '$JS.EVENT.ADVISORY.>', (b) =>
        Buffer.from(b).toString(),
      ))
        advisories.push(a);
      assert.equal(
        poisonJobs.length,
        2,
        `dead letters: ${dead.map((d) => d.reason).join(' | ')}; advisories: ${advisories.join(' | ')}`,
      );
      for (const d of poisonJobs) {
        assert.equal(d.deliveries, 3);
        assert.match(d.reason, /^failed on delivery 3 of 3: .*memory limit/);
        assert.equal(d.error?.code, 'INTERNAL');
        const job = v1.Job.decode(d.payload);
        const trials = jobTrialMessages(job);
        assert.equal(trials.length, 4);
        for (const tr of trials) assert.equal(tr.data?.features?.n, POISON_N);
      }

      // The poison trials ended failed with the reason; the others ok, each recorded once.
      const audit = await auditSweep(client, id, 16);
      assert.deepEqual(audit.problems, []);
      assert.deepEqual(audit.statuses, { ok: 8, failed: 8 });
      for await (const r of client.results(id)) {
        const poisoned = r.params['data.features.n'] === String(POISON_N);
        assert.equal(
          r.status,
          poisoned ? v1.TrialStatus.TRIAL_STATUS_FAILED : v1.TrialStatus.TRIAL_STATUS_OK,
          r.trialId,
        );
        if (poisoned)
          assert.match(r.error?.message ?? '', /failed on delivery 3 of 3: .*memory limit/);
      }

      // The worker died six times; the trainer did not, and its pool is back to full size.
      const exp = await scrape(trainer.metricsPort);
      assert.equal(metricSum(exp, TrainerMetricNames.jobs, { outcome: 'failed' }), 6);
      assert.equal(metricSum(exp, TrainerMetricNames.redeliveries), 4);
      assert.equal(metricSum(exp, TrainerMetricNames.poolThreads), 2);
      assert.ok(await stillRunning(trainer), 'the trainer process is still up');
      assert.ok(await healthy(trainer.metricsPort));
      const sinceDone = Date.now();
      const beat = await waitFor(
        () => beats.find((h) => Number(h.timeMs) > sinceDone),
        'a heartbeat after the sweep',
        5000,
      );
      assert.equal(beat.capacity, 2, 'the heartbeat reports both workers');
      listening.stop();

      // ... and it serves the next sweep with both workers.
      const next = await client.submit(
        tinySweep({ trials: 32, steps: 200, population: 4, name: 'after-poison' }),
      );
      const after = await client.waitFor(next.status.sweepId, {
        intervalMs: 200,
        timeoutMs: 60_000,
      });
      assert.equal(after.counts?.ok, 32);
      const instances = new Set<string>();
      for await (const r of client.results(next.status.sweepId)) instances.add(r.instance);
      assert.deepEqual([...instances], [trainer.instance]);
      process.stderr.write(
        `poison-job: 2 jobs dead-lettered after 3 deliveries each (${dead[0]?.reason}); 8 trials failed, 8 ok; the same trainer (pid ${trainer.pid}) then ran 32 more\n`,
      );
      await waitFor(
        async () =>
          metricSum(await scrape(trainer.metricsPort), TrainerMetricNames.poolThreads) === 2,
        'the pool gauge to read 2',
        5000,
      );
    } finally {
      await t.stop();
    }
  },
);
