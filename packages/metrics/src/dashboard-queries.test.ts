import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@dynlab/core';
import { listDashboardQueries } from './dashboard-queries';

function withDashboards(files: Record<string, unknown>, body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-dash-'));
  try {
    for (const [name, json] of Object.entries(files))
      writeFileSync(join(dir, name), JSON.stringify(json));
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every panel query is listed, nested rows included, with the variables replaced', () => {
  const dash = {
    uid: 'dynlab-x',
    panels: [
      {
        id: 1,
        title: 'Trials/s',
        targets: [
          {
            refId: 'A',
            expr: 'sum(rate(dynlab_trainer_trials_total{sweep=~"$sweep"}[$__rate_interval]))',
          },
        ],
      },
      {
        id: 2,
        type: 'row',
        title: 'More',
        panels: [
          {
            id: 3,
            title: 'Lag',
            targets: [
              {
                refId: 'B',
                expr: 'max(dynlab_coordinator_jobs_consumer_lag{sweep="${sweep}"}) [[sweep]] $__interval $__range',
              },
              { refId: 'C' },
            ],
          },
        ],
      },
    ],
  };
  withDashboards({ 'a.json': dash, 'notes.txt': 'ignored' }, (dir) => {
    const qs = listDashboardQueries({
      dir,
      sweep: 'sw-1',
      rateInterval: '30s',
      interval: '5s',
      range: '10m',
    });
    assert.deepEqual(
      qs.map((q) => [q.file, q.dashboard, q.panelId, q.panelTitle, q.refId, q.expr]),
      [
        [
          'a.json',
          'dynlab-x',
          1,
          'Trials/s',
          'A',
          'sum(rate(dynlab_trainer_trials_total{sweep=~"sw-1"}[30s]))',
        ],
        [
          'a.json',
          'dynlab-x',
          3,
          'Lag',
          'B',
          'max(dynlab_coordinator_jobs_consumer_lag{sweep="sw-1"}) sw-1 5s 10m',
        ],
      ],
    );
    assert.equal(qs[0]?.raw, dash.panels[0]?.targets?.[0]?.expr);
    assert.equal(
      listDashboardQueries({ dir, sweep: '.*' })[0]?.expr,
      'sum(rate(dynlab_trainer_trials_total{sweep=~".*"}[1m]))',
    );
  });
});

test('a variable the dashboards may not use is a CONFIG error naming it', () => {
  withDashboards(
    {
      'b.json': {
        uid: 'b',
        panels: [{ id: 7, targets: [{ refId: 'A', expr: 'up{job="$job"}' }] }],
      },
    },
    (dir) => {
      assert.throws(
        () => listDashboardQueries({ dir, sweep: 's' }),
        (e: unknown) =>
          (e as { code: string }).code === ErrorCode.Config &&
          /b\.json panel 7: unknown dashboard variable \$job/.test((e as Error).message),
      );
    },
  );
});
