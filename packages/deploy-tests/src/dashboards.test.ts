import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { dynlabSeriesNames, listDashboardQueries, readDashboards } from '@dynlab/metrics';
import { dynlabNamesIn } from './promql-names';
import { deployDir } from './repo-paths';

const grafanaDir = join(deployDir, 'grafana');
const known = dynlabSeriesNames();

function datasourceUid(): string {
  const dir = join(grafanaDir, 'provisioning', 'datasources');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  assert.equal(files.length, 1);
  const ds = (
    parse(readFileSync(join(dir, files[0]!), 'utf8')) as {
      datasources: { uid: string; type: string }[];
    }
  ).datasources;
  assert.equal(ds.length, 1);
  assert.equal(ds[0]!.type, 'prometheus');
  return ds[0]!.uid;
}

test('the loose PromQL reader finds metric names and ignores strings, labels and functions', () => {
  assert.deepEqual(
    dynlabNamesIn(
      'histogram_quantile(0.9, sum by (le) (rate(dynlab_trainer_job_duration_seconds_bucket{job="dynlab_x", kind=~"dynlab_y"}[5m]))) / dynlab_a:b + on(dynlab_z) mydynlab_q',
    ),
    ['dynlab_trainer_job_duration_seconds_bucket', 'dynlab_a:b', 'dynlab_z'],
  );
});

test('every metric name in every dashboard query and alert rule exists in the metric-name file', () => {
  const used: { where: string; name: string }[] = [];
  for (const q of listDashboardQueries({ sweep: '.*' }))
    for (const name of dynlabNamesIn(q.raw))
      used.push({ where: `${q.file} "${q.panelTitle}" ${q.refId}`, name });
  for (const [file, dash] of readDashboards()) {
    for (const v of (dash.templating as { list: { name: string; definition?: string }[] }).list)
      for (const name of dynlabNamesIn(v.definition ?? ''))
        used.push({ where: `${file} variable ${v.name}`, name });
  }
  const alerts = parse(readFileSync(join(deployDir, 'prometheus', 'alerts.yml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  for (const g of alerts.groups)
    for (const r of g.rules)
      for (const name of dynlabNamesIn(r.expr)) used.push({ where: `alerts.yml ${r.alert}`, name });
  assert.ok(used.length > 40, `only ${used.length} uses found`);
  assert.deepEqual(
    used.filter((u) => !known.has(u.name)),
    [],
  );
});

test('dashboards: stable unique uids, the provisioned datasource uid everywhere, no ${DS_...} placeholders, a sweep selector', () => {
  const uid = datasourceUid();
  const dashboards = readDashboards();
  assert.deepEqual([...dashboards.keys()], ['overview.json', 'science.json']);
  assert.deepEqual(
    [...dashboards.values()].map((d) => d.uid),
    ['dynlab-overview', 'dynlab-science'],
  );
  for (const [file, dash] of dashboards) {
    const text = readFileSync(join(grafanaDir, 'dashboards', file), 'utf8');
    assert.doesNotMatch(text, /\$\{DS_|__inputs|__requires/, `${file} has import placeholders`);
    const uids = new Set(
      [...text.matchAll(/"datasource":\s*\{\s*"type":\s*"prometheus",\s*"uid":\s*"([^"]+)"/g)].map(
        (m) => m[1],
      ),
    );
    assert.deepEqual([...uids], [uid], `${file} datasource uids`);
    const vars = (
      dash.templating as {
        list: { name: string; multi: boolean; includeAll: boolean; allValue: string }[];
      }
    ).list;
    assert.deepEqual(
      vars.map((v) => [v.name, v.multi, v.includeAll, v.allValue]),
      [['sweep', true, true, '.*']],
    );
    const ids: number[] = [];
    const walk = (
      panels: {
        id: number;
        type: string;
        panels?: unknown[];
        targets?: unknown[];
        gridPos: { x: number; w: number };
      }[],
    ) => {
      for (const p of panels) {
        ids.push(p.id);
        assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file} panel ${p.id} overflows the grid`);
        if (p.type !== 'row')
          assert.ok((p.targets ?? []).length > 0, `${file} panel ${p.id} has no query`);
        walk((p.panels ?? []) as typeof panels);
      }
    };
    walk(dash.panels as Parameters<typeof walk>[0]);
    assert.equal(new Set(ids).size, ids.length, `${file} panel ids are unique`);
  }
});

test("every panel query uses the sweep selector where its metric has a sweep label, and the issue's panels exist", () => {
  const titles = listDashboardQueries({ sweep: 'S' }).map((q) => q.panelTitle);
  for (const t of [
    'Sweep progress',
    'Trials/s',
    'Network-steps/s',
    'Job queue depth and lag',
    'Dead letters and malformed messages',
    'Pool utilization',
    'Backend mix: trainers',
    'Service health',
    'Findings by kind',
    'Starvation findings per sweep',
    'Diverged and failed trials',
  ])
    assert.ok(titles.includes(t), t);
  const swept = [
    'dynlab_coordinator_sweep_trials',
    'dynlab_coordinator_sweep_trials_finished',
    'dynlab_trainer_trials_total',
    'dynlab_trainer_network_steps_total',
    'dynlab_analyzer_findings_total',
    'dynlab_analyzer_telemetry_chunks_total',
    'dynlab_trainer_telemetry_chunks_published_total',
  ];
  for (const q of listDashboardQueries({ sweep: 'S' })) {
    for (const name of swept) {
      const uses = [...q.expr.matchAll(new RegExp(`${name}(?![A-Za-z0-9_])`, 'g'))].length;
      if (uses === 0) continue;
      const filtered = [...q.expr.matchAll(new RegExp(`${name}\\{sweep=~"S"`, 'g'))].length;
      assert.equal(
        filtered,
        uses,
        `${q.file} "${q.panelTitle}": every ${name} is filtered by $sweep`,
      );
    }
  }
});
