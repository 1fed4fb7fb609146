/**
 * The dashboards against the real thing (issue 7): a real nats-server, coordinator, trainer and
 * analyzer (each its own process), scraped every second by a real Prometheus running the
 * repository's prometheus.yml and alert rules. A small sweep with a knocked-out frequent feature
 * runs through them; then every panel query of every dashboard must return data for that sweep,
 * and the figures that are knowable from the sweep's results are checked exactly. Killing the
 * trainer afterwards must put the "service down" alert into pending state.
 * dashboards-prometheus.test.ts does the same against simulated services, fast and in detail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynlabClient } from '@dynlab/client';
import { startLocalCluster, type LocalCluster, type ServiceProcess } from '@dynlab/cluster';
import { findSamples, listDashboardQueries, parseExposition } from '@dynlab/metrics';
import { startPrometheus, type PrometheusHandle } from './prometheus-server';

/** 64 trials in 8 jobs of 8: hidden 8 or 16, the frequent feature present or knocked out. */
const smokeSweep = {
  name: 'dashboards-live',
  base: {
    data: { features: { n: 64, features: [{ frequency: 1 }, { frequency: 0.25 }] } },
    model: { kind: 'relu', hidden: [8] },
    init: { scale: 0.1 },
    optimizer: { learningRate: 0.5 },
    steps: 80,
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
  seeds: 16,
  population: 8,
};

/** Retries `check` (assertions) until it passes; after `timeoutMs` its last failure is thrown. */
async function eventually<T>(check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const target = (p: ServiceProcess) => `127.0.0.1:${p.metricsPort}`;

/** `[labels joined by ',', value]` of each series, sorted: compact and exact to compare. */
async function series(prom: PrometheusHandle, expr: string): Promise<[string, number][]> {
  return (await prom.query(expr))
    .map((s): [string, number] => [
      Object.keys(s.metric)
        .sort()
        .map((k) => s.metric[k])
        .join(','),
      Number(s.value),
    ])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Active alerts as `[alertname, job, instance, state]`, sorted (job and instance '' where absent). */
async function activeAlerts(prom: PrometheusHandle): Promise<string[][]> {
  const body = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: Record<string, string>; state: string }[] };
  };
  return body.data.alerts
    .map((a) => [a.labels.alertname ?? '', a.labels.job ?? '', a.labels.instance ?? '', a.state])
    .sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

test(
  'a sweep through the real services: every dashboard query returns data from a real Prometheus',
  { timeout: 120_000 },
  async () => {
    const cluster: LocalCluster = await startLocalCluster({
      trainers: 1,
      threads: 2,
      env: { DYNLAB_LOG_LEVEL: 'warn' },
    });
    const trainer = cluster.trainers[0]!;
    let prom: PrometheusHandle | undefined;
    let client: DynlabClient | undefined;
    try {
      prom = await startPrometheus({
        targets: {
          coordinator: [target(cluster.coordinator)],
          trainer: [target(trainer)],
          analyzer: [target(cluster.analyzer!)],
        },
        intervalS: 1,
      });
      const p = prom;
      client = await DynlabClient.connect({ servers: cluster.natsUrl });
      const c = client;

      const submitted = await c.submit(smokeSweep);
      const sweep = submitted.status.sweepId;
      const final = DynlabClient.plain(await c.waitFor(sweep, { timeoutMs: 60_000 })) as {
        state: string;
        counts: Record<string, number>;
      };
      assert.equal(final.state, 'SWEEP_STATE_COMPLETE');
      assert.equal(final.counts.total, 64);
      assert.equal(final.counts.jobs, 8, '2 shapes x 32 trials in populations of 8');

      const results = [];
      for await (const r of c.results(sweep)) results.push(r);
      assert.equal(results.length, 64);
      const backends = [...new Set(results.map((r) => r.backend))];
      assert.equal(backends.length, 1, `one trainer, one backend: ${backends.join(', ')}`);
      const backend = backends[0]!;
      const steps = results.reduce((n, r) => n + r.stepsDone, 0);
      const chunks = results.reduce((n, r) => n + r.telemetryChunks, 0);

      const starvedFindings = async () =>
        (await c.findings(sweep)).filter((f) => f.kind === 'starved-feature').length;

      // Scrapes go on until the services' probes and Prometheus have caught up with the end of the
      // sweep; these are the values a user reads off the dashboards once a sweep is done.
      const queries = listDashboardQueries({ sweep, rateInterval: '1m', range: '5m' });
      const panel = (title: string, refId = 'A') => {
        const q = queries.find((x) => x.panelTitle === title && x.refId === refId);
        assert.ok(q, `no panel "${title}" ${refId}`);
        return series(p, q.expr);
      };
      const outcomes = ['cancelled', 'diverged', 'failed', 'ok'].map((o): [string, number] => [
        o,
        final.counts[o] ?? 0,
      ]);
      await eventually(async () => {
        assert.deepEqual(await panel('Trials by outcome'), outcomes);
        assert.deepEqual(await panel('Sweep progress'), [[sweep, 1]]);
        assert.deepEqual(await panel('Sweeps by state'), [
          ['cancelled', 0],
          ['complete', 1],
          ['failed', 0],
          ['running', 0],
        ]);
        assert.deepEqual(await panel('Job queue depth and lag', 'A'), [['', 0]]);
        assert.deepEqual(await panel('Job queue depth and lag', 'B'), [['', 0]]);
        assert.deepEqual(await panel('Job queue depth and lag', 'C'), [['', 0]]);
        assert.deepEqual(await panel('Backend mix: trainers'), [[backend, 1]]);
        const starved = await starvedFindings();
        assert.ok(starved > 0, 'starved-feature findings');
        assert.deepEqual(await panel('Starvation findings per sweep'), [[sweep, starved]]);
        assert.deepEqual(await panel('Service health', 'A'), [
          ['analyzer', 1],
          ['coordinator', 1],
          ['trainer', 1],
        ]);
        assert.deepEqual(
          await series(p, `sum(dynlab_coordinator_trials_total{sweep="${sweep}"})`),
          [['', 64]],
        );
        assert.deepEqual(
          await series(p, `sum(dynlab_coordinator_jobs_published_total{sweep="${sweep}"})`),
          [['', 8]],
        );
        assert.deepEqual(
          await series(p, 'sum by (instance) (dynlab_trainer_jobs_total{outcome="ok"})'),
          [[trainer.instance, 8]],
        );
        assert.deepEqual(
          await series(p, `sum by (backend) (dynlab_trainer_trials_total{sweep="${sweep}"})`),
          [[backend, 64]],
        );
        assert.deepEqual(
          await series(
            p,
            `sum by (backend) (dynlab_trainer_network_steps_total{sweep="${sweep}"})`,
          ),
          [[backend, steps]],
        );
        assert.deepEqual(
          await series(p, `sum(dynlab_trainer_telemetry_chunks_published_total{sweep="${sweep}"})`),
          [['', chunks]],
        );
        assert.deepEqual(
          await series(p, `sum(dynlab_analyzer_telemetry_chunks_total{sweep="${sweep}"})`),
          [['', chunks]],
        );
        assert.deepEqual(await series(p, `sum(dynlab_analyzer_results_total{sweep="${sweep}"})`), [
          ['', 64],
        ]);
        const lag = await panel('Analyzer consumer lag');
        assert.ok(lag.length > 0, 'analyzer consumer lag');
        assert.deepEqual(
          lag.filter(([, v]) => v !== 0),
          [],
        );
        assert.deepEqual(await activeAlerts(p), []);
      }, 30_000);
      await p.waitForScrapes(5);

      const empty: string[] = [];
      for (const q of queries)
        if ((await p.query(q.expr)).length === 0)
          empty.push(`${q.file} "${q.panelTitle}" ${q.refId}: ${q.expr}`);
      assert.deepEqual(empty, [], 'panels without data');

      // A killed trainer is a target down, and jobs that then wait with no trainer up are a
      // queue growing without trainers: both alerts go pending (they fire after their `for`).
      await trainer.kill('SIGKILL');
      await c.submit({ ...smokeSweep, name: 'no-trainer' });
      await eventually(async () => {
        assert.deepEqual(await activeAlerts(p), [
          ['DynlabJobQueueGrowingWithoutTrainers', '', '', 'pending'],
          ['DynlabServiceDown', 'dynlab-trainer', target(trainer), 'pending'],
        ]);
      }, 20_000);

      // Progress gauges are set from KV: a fresh coordinator shows the finished sweep at once.
      const coordinator = await cluster.restartCoordinator();
      await eventually(async () => {
        const res = await fetch(`http://${target(coordinator)}/metrics`);
        const scrape = parseExposition(await res.text());
        const gauge = (name: string) =>
          findSamples(scrape, name, { sweep })
            .map((x): [string, number] => [x.labels.outcome ?? '', x.value])
            .sort();
        assert.deepEqual(gauge('dynlab_coordinator_sweep_trials'), [['', 64]]);
        assert.deepEqual(gauge('dynlab_coordinator_sweep_trials_finished'), outcomes);
      }, 10_000);
    } finally {
      await client?.close();
      await prom?.stop();
      await cluster.stop();
    }
  },
);
