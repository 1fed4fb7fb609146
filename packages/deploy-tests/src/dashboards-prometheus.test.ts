import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { listDashboardQueries } from '@dynlab/metrics';
import { startPrometheus } from './prometheus-server';
import { deployDir } from './repo-paths';
import { startSimulatedCluster } from './simulated-cluster';

test("a real Prometheus scraping the services' metrics endpoints returns data for every dashboard query", async () => {
  const sweep = 'sweep-7f3a';
  const cluster = await startSimulatedCluster(sweep);
  const prom = await startPrometheus({ targets: cluster.targets, intervalS: 1 });
  try {
    await prom.waitForScrapes(2);
    cluster.step();
    await prom.waitForScrapes(4);

    const queries = listDashboardQueries({ sweep, rateInterval: '1m', range: '5m' });
    assert.ok(queries.length >= 35, `${queries.length} queries`);
    const empty: string[] = [];
    for (const q of queries)
      if ((await prom.query(q.expr)).length === 0)
        empty.push(`${q.file} "${q.panelTitle}" ${q.refId}: ${q.expr}`);
    assert.deepEqual(empty, []);

    const one = async (panelTitle: string, refId = 'A') => {
      const q = queries.find((x) => x.panelTitle === panelTitle && x.refId === refId)!;
      return (await prom.query(q.expr))
        .map((s) => [Object.values(s.metric).join(','), Number(s.value)])
        .sort();
    };
    assert.deepEqual(await one('Sweep progress'), [[sweep, 1]]);
    assert.deepEqual(
      await one('Diverged and failed trials'),
      [
        [`diverged,${sweep}`, 2],
        [`failed,${sweep}`, 2],
      ].sort(),
    );
    assert.deepEqual(await one('Diverged or failed fraction'), [[sweep, 4 / 64]]);
    assert.deepEqual(await one('Starvation findings per sweep'), [[sweep, 2]]);
    assert.deepEqual(await one('Backend mix: trainers'), [
      ['native', 1],
      ['wasm', 1],
    ]);
    assert.deepEqual(await one('Service health'), [
      ['analyzer', 1],
      ['coordinator', 1],
      ['trainer', 2],
    ]);
    assert.deepEqual(await one('Service health', 'B'), [
      ['analyzer', 1],
      ['coordinator', 1],
      ['trainer', 2],
    ]);
    assert.deepEqual(await one('Sweeps by state'), [
      ['cancelled', 0],
      ['complete', 1],
      ['failed', 0],
      ['running', 0],
    ]);

    const other = listDashboardQueries({ sweep: 'no-such-sweep' }).find(
      (q) => q.panelTitle === 'Sweep progress',
    )!;
    assert.deepEqual(await prom.query(other.expr), [], 'the sweep selector filters');

    const variable = 'group by (sweep) (dynlab_coordinator_sweep_trials)';
    assert.deepEqual(
      (await prom.query(variable)).map((s) => s.metric.sweep),
      [sweep],
    );

    const alerts = parse(readFileSync(join(deployDir, 'prometheus', 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    for (const g of alerts.groups) for (const r of g.rules) await prom.query(r.expr);
  } finally {
    await prom.stop();
    await cluster.close();
  }
});
