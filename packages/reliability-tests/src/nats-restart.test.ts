/**
 * Fault: the nats-server stopped and started again on the same store in the middle of a sweep.
 * What must hold: every service reconnects on its own (unlimited reconnects), queued jobs and
 * recorded state survive (file storage), work in flight when the broker went away is retried,
 * and the sweep completes with every trial recorded exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { v1 } from '@dynlab/proto';
import { waitFor } from '@dynlab/testing';
import { auditSweep } from './sweep-audit';
import { analyzerCaughtUp, startTestCluster } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const TRIALS = 320;

test(
  'nats-server restarted (same store) mid-sweep: services reconnect, nothing lost or doubled',
  { timeout: 180_000 },
  async () => {
    const t = await startTestCluster({
      trainers: 1,
      threads: 2,
      env: { DYNLAB_JOB_ACK_WAIT_S: '3' },
      serviceEnv: {
        trainer: { DYNLAB_CHUNK_POINTS: '4' },
        analyzer: { DYNLAB_ANALYZERS: '["failed-training"]' },
      },
    });
    try {
      const { cluster, client } = t;
      const { status } = await client.submit(
        tinySweep({ trials: TRIALS, steps: 40_000, population: 4 }),
      );
      const id = status.sweepId;
      const before = await waitFor(
        async () => {
          const st = (await client.get(id)).status;
          const finished = (st.counts?.ok ?? 0) + (st.counts?.failed ?? 0);
          return finished >= TRIALS / 5 ? st : undefined;
        },
        'a fifth of the sweep to finish',
        60_000,
        100,
      );
      assert.equal(
        before.state,
        v1.SweepState.SWEEP_STATE_RUNNING,
        'the restart must come while the sweep runs (make the trials longer)',
      );
      await cluster.nats!.restart();

      const final = await client.waitFor(id, { intervalMs: 250, timeoutMs: 120_000 });
      assert.equal(final.state, v1.SweepState.SWEEP_STATE_COMPLETE);
      assert.equal(final.counts?.ok, TRIALS, `counts: ${JSON.stringify(final.counts)}`);
      const audit = await auditSweep(client, id, TRIALS);
      assert.deepEqual(audit.problems.slice(0, 20), []);
      assert.equal(audit.trialsWithResult, TRIALS);
      assert.equal(audit.recordedOutcomes, TRIALS);
      assert.deepEqual(audit.statuses, { ok: TRIALS });

      // Every service is still connected and working: a second sweep runs end to end after the restart.
      const again = await client.submit(
        tinySweep({ trials: 16, steps: 100, name: 'after-restart' }),
      );
      const after = await client.waitFor(again.status.sweepId, {
        intervalMs: 200,
        timeoutMs: 60_000,
      });
      assert.equal(after.counts?.ok, 16);
      // The analyzer reconnected too: it finishes both sweeps (a finding per sweep is not guaranteed, so
      // read its consumer's progress instead).
      await analyzerCaughtUp(client.bus);
      process.stderr.write(
        `nats-restart: restarted at ${before.counts?.ok ?? 0} of ${TRIALS} trials done; ${audit.resultMessages} result messages\n`,
      );
    } finally {
      await t.stop();
    }
  },
);
