/**
 * Fault: an analyzer plug-in that is far slower than the trainers (it sleeps 250 ms per chunk).
 * What must hold: the trainers do not wait for it. Telemetry is buffered in the stream, so the
 * sweep completes while the analyzer's durable consumer still has a backlog, and that backlog is
 * visible to an operator (`dynlab_analyzer_consumer_lag` on the analyzer's /metrics). Counts, not
 * timings: the proof is that the sweep is complete while most chunks are still unread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { consumers, streams } from '@dynlab/bus';
import { AnalyzerMetricNames } from '@dynlab/metrics';
import { v1 } from '@dynlab/proto';
import { waitFor } from '@dynlab/testing';
import { scrapeSum } from './scrape-metrics';
import { startTestCluster } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const TRIALS = 160;

test(
  'a slow analyzer does not slow the trainers: the sweep completes with the telemetry still queued for it, and the lag shows',
  { timeout: 120_000 },
  async () => {
    const plugin = join(__dirname, 'fixtures', 'slow-analyzer.js');
    const t = await startTestCluster({
      trainers: 1,
      threads: 2,
      serviceEnv: {
        analyzer: { DYNLAB_ANALYZERS: JSON.stringify([plugin]) },
        trainer: { DYNLAB_CHUNK_POINTS: '4' },
      },
    });
    try {
      const { cluster, client } = t;
      const analyzer = cluster.analyzer!;
      const { status } = await client.submit(
        tinySweep({ trials: TRIALS, steps: 400, population: 8, name: 'slow-analyzer' }),
      );
      const final = await client.waitFor(status.sweepId, { intervalMs: 200, timeoutMs: 90_000 });
      assert.equal(final.state, v1.SweepState.SWEEP_STATE_COMPLETE);
      assert.equal(final.counts?.ok, TRIALS);

      // The telemetry batches the trainers published (chunk k of a job's 8 trials in each), and
      // how many the analyzer has not read yet.
      const batches = (await client.bus.jsm.streams.info(streams.telemetry)).state.messages;
      const chunks = TRIALS * 3;
      assert.ok(
        batches >= (TRIALS / 8) * 3,
        `${batches} batches for ${TRIALS / 8} jobs of 12 points in chunks of 4`,
      );
      const info = await client.bus.jsm.consumers.info(
        streams.telemetry,
        consumers.analyzerTelemetry('default'),
      );
      const unread = info.num_pending + info.num_ack_pending;
      assert.ok(
        unread > batches / 2,
        `the analyzer had read ${batches - unread} of ${batches} batches when the sweep completed`,
      );
      const handled = await scrapeSum(analyzer.metricsPort, AnalyzerMetricNames.telemetryChunks);
      assert.ok(handled < chunks / 2, `the analyzer handled ${handled} of ${chunks} chunks`);

      // The backlog is visible where an operator looks (probed every 5 s), and it is draining.
      const lag = await waitFor(
        async () => {
          const v = await scrapeSum(analyzer.metricsPort, AnalyzerMetricNames.consumerLag, {
            analyzer: 'slow-on-purpose',
          });
          return v > 0 ? v : undefined;
        },
        'dynlab_analyzer_consumer_lag > 0',
        15_000,
        250,
      );
      assert.ok(lag <= batches);
      const later = await client.bus.jsm.consumers.info(
        streams.telemetry,
        consumers.analyzerTelemetry('default'),
      );
      assert.ok(later.num_pending < info.num_pending, 'the analyzer keeps reading');
      process.stderr.write(
        `slow-analyzer: sweep complete with ${unread} of ${batches} telemetry batches unread by the analyzer (it had handled ${handled} of ${chunks} chunks); lag gauge ${lag}\n`,
      );
    } finally {
      await t.stop();
    }
  },
);
