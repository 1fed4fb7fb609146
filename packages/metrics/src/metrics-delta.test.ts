import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCode } from '@dynlab/core';
import { applyMetricsDelta, type MetricsDelta } from './metrics-delta';
import { MetricsRegistry } from './metrics-registry';
import { findSamples, parseExposition } from './parse-exposition';
import { createTrainerMetrics } from './trainer-metrics';

/** Runs the worker script and collects the deltas it posts. */
function runWorker(data: {
  sweep: string;
  population: number;
  steps: number;
}): Promise<MetricsDelta[]> {
  return new Promise((resolve, reject) => {
    const deltas: MetricsDelta[] = [];
    const w = new Worker(join(__dirname, 'test-delta-worker.js'), { workerData: data });
    w.on('message', (d: MetricsDelta) => deltas.push(d));
    w.on('error', reject);
    w.on('exit', (code) =>
      code === 0 ? resolve(deltas) : reject(new Error(`worker exited with ${code}`)),
    );
  });
}

test("a worker thread's delta lands in the main thread's registry, summed per label set", async () => {
  const registry = new MetricsRegistry({
    service: 'trainer',
    instance: 't',
    defaultMetrics: false,
  });
  createTrainerMetrics(registry);
  const [first, second] = await runWorker({ sweep: 'sw', population: 16, steps: 200 });
  assert.ok(first && second);
  assert.equal(
    first.counters.length,
    4,
    'steps, ok trials, diverged trials, redeliveries: one entry each',
  );
  assert.deepEqual(second, { v: 1, counters: [], histograms: [] }, 'take() starts a new delta');
  assert.equal(applyMetricsDelta(registry, first), 5);
  applyMetricsDelta(registry, first);
  const scrape = parseExposition(await registry.metrics());
  const value = (name: string, match: Record<string, string> = {}) =>
    findSamples(scrape, name, match).map((s) => s.value);
  assert.deepEqual(value('dynlab_trainer_network_steps_total', { sweep: 'sw', backend: 'wasm' }), [
    2 * 16 * 200,
  ]);
  assert.deepEqual(value('dynlab_trainer_trials_total', { outcome: 'ok' }), [30]);
  assert.deepEqual(value('dynlab_trainer_trials_total', { outcome: 'diverged' }), [2]);
  assert.deepEqual(value('dynlab_trainer_redeliveries_total'), [2]);
  assert.deepEqual(value('dynlab_trainer_worker_wait_seconds_count'), [2]);
  assert.deepEqual(value('dynlab_trainer_worker_wait_seconds_sum'), [0.5]);
});

test('a bad delta is refused whole, with every problem named, and the registry is unchanged', async () => {
  const registry = new MetricsRegistry({
    service: 'trainer',
    instance: 't',
    defaultMetrics: false,
  });
  createTrainerMetrics(registry);
  const before = await registry.metrics();
  const bad: MetricsDelta = {
    v: 1,
    counters: [
      {
        name: 'dynlab_trainer_network_steps_total',
        labels: { sweep: 's', backend: 'wasm' },
        value: 100,
      },
      {
        name: 'dynlab_trainer_network_steps_total',
        labels: { sweep: 's', backend: 'wasm', trial: 't1' },
        value: 1,
      },
      { name: 'dynlab_trainer_redeliveries_total', labels: {}, value: -1 },
      { name: 'dynlab_trainer_pool_threads', labels: {}, value: 1 },
    ],
    histograms: [
      {
        name: 'dynlab_trainer_worker_wait_seconds',
        labels: {},
        values: [0.1, Number.POSITIVE_INFINITY],
      },
    ],
  };
  assert.throws(
    () => applyMetricsDelta(registry, bad),
    (e: unknown) => {
      const err = e as { code: string; issues: { path: string }[] };
      assert.equal(err.code, ErrorCode.Validation);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ['counters[1].labels', 'counters[2].value', 'counters[3].name', 'histograms[0].values'],
      );
      return true;
    },
  );
  assert.throws(
    () => applyMetricsDelta(registry, { v: 2 } as unknown as MetricsDelta),
    (e: unknown) => (e as { code: string }).code === ErrorCode.Validation,
  );
  assert.equal(await registry.metrics(), before);
});
