import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@dynlab/core';
import { createAnalyzerMetrics } from './analyzer-metrics';
import { createCoordinatorMetrics } from './coordinator-metrics';
import { allowedLabelNames, trialOutcomes } from './labels';
import { dynlabSeriesNames, metricTypes } from './metric-names';
import { MetricsRegistry } from './metrics-registry';
import { parseExposition, type Exposition } from './parse-exposition';
import { createTrainerMetrics } from './trainer-metrics';

const codeOf = (code: string) => (e: unknown) => (e as { code?: string }).code === code;

/** Runs one sweep of `trials` trials through all three services' metrics and scrapes them. */
async function runSweep(
  trials: number,
): Promise<{ scrapes: Exposition[]; registries: MetricsRegistry[] }> {
  const registries = ['coordinator', 'trainer', 'analyzer'].map(
    (service) => new MetricsRegistry({ service, instance: `${service}-0`, defaultMetrics: false }),
  );
  const [cr, tr, ar] = registries as [MetricsRegistry, MetricsRegistry, MetricsRegistry];
  const c = createCoordinatorMetrics(cr);
  const t = createTrainerMetrics(tr);
  const a = createAnalyzerMetrics(ar);
  const sweep = 'sweep-1';
  c.initSweep(sweep);
  t.setBackend('wasm');
  t.initSweep(sweep, 'wasm');
  a.initSweep(sweep);
  a.plugins.register('gradient-share');
  c.setSweepStates({ running: 1 });
  c.setJobQueue({ depth: 3, lag: 2, inFlight: 1 });
  c.submitDuration.observe({ outcome: 'accepted' }, 0.02);
  for (let i = 0; i < trials; i++) {
    const outcome = trialOutcomes[i % trialOutcomes.length]!;
    if (i % 8 === 0) c.jobsPublished.inc({ sweep });
    t.trials.inc({ sweep, backend: 'wasm', outcome });
    t.networkSteps.inc({ sweep, backend: 'wasm' }, 200);
    t.telemetryChunks.inc({ sweep });
    t.telemetryBytes.inc({ sweep }, 4096);
    c.trials.inc({ sweep, outcome });
    a.telemetryChunks.inc({ sweep });
    a.results.inc({ sweep });
    a.plugins.findingEmitted({
      analyzer: 'gradient-share',
      sweep,
      kind: 'starved-feature',
      severity: 'warning',
    });
    a.plugins.hookSeconds({ analyzer: 'gradient-share', hook: 'onChunk' }, 0.001);
  }
  t.jobDuration.observe({ backend: 'wasm', outcome: 'ok' }, 1.5);
  a.consumerLag.set({ analyzer: 'default' }, 0);
  a.plugins.analyzerError({ analyzer: 'gradient-share', sweep, hook: 'onTrialEnd' });
  c.setSweepCounts(sweep, { total: trials, ok: trials, diverged: 0, failed: 0, cancelled: 0 });
  const scrapes = await Promise.all(
    registries.map(async (r) => parseExposition(await r.metrics())),
  );
  return { scrapes, registries };
}

test('every label on every dynlab series is one of the bounded label names', async () => {
  const { scrapes } = await runSweep(40);
  const allowed = new Set<string>([...allowedLabelNames, 'le']);
  let seen = 0;
  for (const scrape of scrapes)
    for (const s of scrape.samples) {
      seen++;
      for (const label of Object.keys(s.labels))
        assert.ok(allowed.has(label), `${s.name} has label ${label}`);
    }
  assert.ok(seen > 100);
});

test('the number of series does not grow with the number of trials', async () => {
  const count = async (n: number) =>
    (await runSweep(n)).scrapes.reduce((sum, s) => sum + s.samples.length, 0);
  const small = await count(8);
  assert.equal(await count(800), small);
});

test('the three services together export every name of the metric-name file, with its type', async () => {
  const { scrapes } = await runSweep(4);
  const types = new Map<string, string>();
  for (const s of scrapes)
    for (const [name, type] of s.types) if (name.startsWith('dynlab_')) types.set(name, type);
  assert.deepEqual(
    Object.fromEntries([...types].sort()),
    Object.fromEntries(Object.entries(metricTypes).sort()),
  );
  const series = dynlabSeriesNames();
  for (const s of scrapes)
    for (const sample of s.samples)
      if (sample.name.startsWith('dynlab_')) assert.ok(series.has(sample.name), sample.name);
  assert.ok(series.has('dynlab_trainer_job_duration_seconds_bucket'));
  assert.ok(!series.has('dynlab_trainer_job_duration_seconds'));
});

test('a metric with an unbounded or unknown label, or outside the metric-name file, is refused at creation', () => {
  const r = new MetricsRegistry({ service: 'trainer', defaultMetrics: false });
  assert.throws(
    () =>
      r.counter<Record<string, string>>({
        name: 'dynlab_trainer_jobs_total',
        help: 'x',
        labelNames: ['trial'] as never[],
      }),
    (e: unknown) =>
      codeOf(ErrorCode.Config)(e) && /label 'trial'.*unbounded/.test((e as Error).message),
  );
  assert.throws(
    () => r.counter({ name: 'dynlab_trainer_things_total', help: 'x', labelNames: [] }),
    codeOf(ErrorCode.Config),
  );
  assert.throws(
    () => r.gauge({ name: 'dynlab_trainer_jobs_total', help: 'x', labelNames: [] }),
    /is a counter/,
  );
  createTrainerMetrics(r);
  assert.throws(() => createTrainerMetrics(r), codeOf(ErrorCode.Conflict));
});

test('a handle refuses missing or extra labels, negative increments and non-finite observations', () => {
  const r = new MetricsRegistry({ service: 'trainer', defaultMetrics: false });
  const t = createTrainerMetrics(r);
  const bad = t.trials as unknown as { inc(labels: Record<string, string>, v?: number): void };
  assert.throws(() => bad.inc({ sweep: 's', backend: 'wasm' }), codeOf(ErrorCode.Internal));
  assert.throws(
    () => bad.inc({ sweep: 's', backend: 'wasm', outcome: 'ok', trial: 't-17' }),
    codeOf(ErrorCode.Internal),
  );
  assert.throws(() => t.redeliveries.inc(-1), codeOf(ErrorCode.Internal));
  assert.throws(() => t.workerWait.observe(Number.NaN), codeOf(ErrorCode.Internal));
});

test("forgetSweep drops a finished sweep's series and keeps the others", async () => {
  const { registries } = await runSweep(8);
  const [coordinator] = registries as [MetricsRegistry];
  const c2 = parseExposition(await coordinator.metrics());
  const before = c2.samples.filter((s) => s.labels.sweep === 'sweep-1').length;
  assert.equal(
    before,
    4 + 4 + 1 + 1,
    'trials (4 outcomes), finished (4 outcomes), jobs published, sweep trials',
  );
  assert.equal(coordinator.forgetSweep('sweep-1'), before);
  const after = parseExposition(await coordinator.metrics());
  assert.equal(after.samples.filter((s) => s.labels.sweep === 'sweep-1').length, 0);
  assert.equal(after.samples.filter((s) => s.name === 'dynlab_coordinator_sweeps').length, 4);
});
