/**
 * Fault: trainers killed with SIGKILL mid-job, again and again, during a sweep of hundreds of
 * trials. What must hold: the sweep completes, every trial has exactly one result and one recorded
 * outcome, and a complete telemetry series (chunks 0..n-1, the last flagged), because an unacked
 * job is redelivered (ack wait 2 s here) and results and chunks are deduplicated by id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { v1 } from '@dynlab/proto';
import { TrainerMetricNames } from '@dynlab/metrics';
import { auditSweep } from './sweep-audit';
import { scrapeSum } from './scrape-metrics';
import { startTestCluster } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const TRIALS = 480;

test(
  'trainers SIGKILLed every 2 s during a sweep: every trial recorded exactly once, with its whole telemetry',
  { timeout: 180_000 },
  async () => {
    const t = await startTestCluster({
      trainers: 2,
      threads: 1,
      noAnalyzer: true,
      env: { DYNLAB_JOB_ACK_WAIT_S: '2', DYNLAB_JOB_MAX_DELIVER: '50' },
      serviceEnv: { trainer: { DYNLAB_CHUNK_POINTS: '4' } },
    });
    try {
      const { cluster, client } = t;
      const { status } = await client.submit(
        tinySweep({ trials: TRIALS, steps: Number(process.env.RT_STEPS ?? 140000), population: 4 }),
      );
      const id = status.sweepId;
      const t0 = Date.now();
      let done = false;
      const waiting = client
        .waitFor(id, { intervalMs: 250, timeoutMs: 150_000 })
        .finally(() => (done = true));

      let kills = 0;
      let busyKills = 0;
      let victim = 0;
      while (!done && kills < 10) {
        await Promise.race([waiting, new Promise((r) => setTimeout(r, 2000))]);
        if (done) break;
        const live = cluster.trainers.filter((p) => p.pid && !exitedAlready.has(p.pid));
        const target = live[victim++ % live.length]!;
        const busy = await scrapeSum(target.metricsPort, TrainerMetricNames.poolUtilization).catch(
          () => 0,
        );
        await target.kill('SIGKILL');
        exitedAlready.add(target.pid);
        kills++;
        if (busy > 0) busyKills++;
        await cluster.addTrainer();
      }
      const final = await waiting;
      const elapsed = (Date.now() - t0) / 1000;

      assert.equal(final.state, v1.SweepState.SWEEP_STATE_COMPLETE);
      assert.equal(final.counts?.total, TRIALS);
      assert.equal(final.counts?.ok, TRIALS, `counts: ${JSON.stringify(final.counts)}`);
      assert.ok(
        kills >= 3,
        `the sweep ended after ${kills} kills: too few to test anything (make the trials longer)`,
      );
      assert.ok(
        busyKills >= 2,
        `only ${busyKills} of ${kills} kills hit a trainer that was running a job`,
      );

      const audit = await auditSweep(client, id, TRIALS);
      assert.deepEqual(audit.problems.slice(0, 20), []);
      assert.equal(audit.trialsWithResult, TRIALS);
      assert.equal(audit.recordedOutcomes, TRIALS);
      assert.equal(
        audit.resultMessages,
        TRIALS,
        "JetStream deduplicates a redelivered job's results by trial id",
      );
      assert.deepEqual(audit.statuses, { ok: TRIALS });
      process.stderr.write(
        `trainer-kill: ${kills} kills (${busyKills} mid-job), sweep of ${TRIALS} trials complete in ${elapsed.toFixed(1)} s\n`,
      );
    } finally {
      await t.stop();
    }
  },
);

const exitedAlready = new Set<number>();
