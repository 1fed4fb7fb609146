/**
 * `dynlab run examples/starvation.yaml` end to end as a user runs it: a child process that starts
 * its own nats-server and services, then the exported files read back with independent readers
 * (parquet-wasm for Parquet, a line split for CSV and JSON lines) and report.html opened in headless
 * Chromium. One run serves every assertion (the machine is small).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chromiumPath,
  hasChromium,
  loadReport,
  withChromium,
} from '@dynlab/report/dist/report-browser.fixture';
import { compileSweep, loadSpecFile } from '@dynlab/spec';
import { readParquetRows, repoRoot, runDynlab } from './dynlab-process.fixture';

const artifacts = join(repoRoot, 'test-artifacts');
const knockedOut = 'data.features.features[0].knockedOut';
let dir = '';
let out = '';
let run: { code: number; stdout: string; stderr: string };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynlab-cli-run-'));
  out = join(dir, 'results');
  run = await runDynlab(['run', 'examples/starvation.yaml', '--out', out]);
});
after(() => rm(dir, { recursive: true, force: true }));

void test('run exits 0 with a summary naming the results folder and the report', async () => {
  assert.equal(run.code, 0, run.stderr);
  const sweep = compileSweep(await loadSpecFile(join(repoRoot, 'examples/starvation.yaml')));
  assert.match(
    run.stdout,
    new RegExp(
      `complete in \\S+: ${sweep.trialCount} ok, 0 diverged, 0 failed, 0 cancelled of ${sweep.trialCount} trials`,
    ),
  );
  assert.ok(run.stdout.includes(`report: ${join(out, 'report.html')}`), run.stdout);
  assert.match(
    run.stderr,
    /local cluster on nats:\/\/127\.0\.0\.1:\d+ \(pids: nats-server \d+, coordinator \d+, trainer \d+, analyzer \d+\)/,
  );
  // Not a terminal: plain progress lines, no carriage returns or escape codes.
  assert.match(run.stderr, new RegExp(`\\d+/${sweep.trialCount} trials \\(\\d+%\\)`));
  assert.ok(
    !(run.stderr + run.stdout).includes('\r') && !(run.stderr + run.stdout).includes('\u001b'),
    'no carriage return or escape code',
  );
});

void test('trials.csv and trials.parquet: one row per trial with the swept axis, status and learning time', async () => {
  const sweep = compileSweep(await loadSpecFile(join(repoRoot, 'examples/starvation.yaml')));
  const csv = readFileSync(join(out, 'trials.csv'), 'utf8').trimEnd().split('\n');
  const header = csv[0]!.split(',');
  for (const col of [
    'trial',
    'seed',
    knockedOut,
    'status',
    'backend',
    'final_loss',
    'final_error',
    'learning_time',
    'wall_s',
  ])
    assert.ok(header.includes(col), `trials.csv column ${col} in ${header.join(',')}`);
  assert.equal(csv.length - 1, sweep.trialCount);
  const pq = readParquetRows(join(out, 'trials.parquet'));
  assert.deepEqual(pq.columns, header);
  assert.equal(pq.rows.length, sweep.trialCount);
  assert.deepEqual(new Set(pq.rows.map((r) => r.status)), new Set(['ok']));
  assert.deepEqual(
    pq.rows.map((r) => String(r[knockedOut])).filter((v) => v === 'true').length,
    sweep.trialCount / 2,
  );
  assert.ok(
    pq.rows.every((r) => typeof r.final_loss === 'number' && Number.isFinite(r.final_loss)),
  );
  assert.equal(new Set(pq.rows.map((r) => r.trial)).size, sweep.trialCount);
});

void test('telemetry.parquet: long format, every trial, every recorded step', async () => {
  const sweep = compileSweep(await loadSpecFile(join(repoRoot, 'examples/starvation.yaml')));
  const t = readParquetRows(join(out, 'telemetry.parquet'));
  assert.deepEqual(t.columns, ['trial', 'step', 'quantity', 'index', 'value']);
  const byTrial = new Map<string, Set<number>>();
  for (const r of t.rows) {
    if (r.quantity !== 'loss') continue;
    const s = byTrial.get(String(r.trial)) ?? new Set<number>();
    s.add(Number(r.step));
    byTrial.set(String(r.trial), s);
  }
  assert.equal(byTrial.size, sweep.trialCount);
  const steps = [...byTrial.values()].map((s) => s.size);
  assert.ok(
    steps.every((n) => n === steps[0] && n > 50),
    `recorded loss steps per trial: ${steps.join(',')}`,
  );
  assert.deepEqual(
    new Set(t.rows.map((r) => r.quantity)),
    new Set(['loss', 'error', 'gradShare', 'probeOutputs', 'paramNorms', 'deadUnits']),
  );
});

void test('findings.jsonl: feature 1 is starved in every trial with feature 0 present, in none with it knocked out', () => {
  const findings = readFileSync(join(out, 'findings.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          analyzer: string;
          kind: string;
          trialId: string;
          evidence: Record<string, number>;
          findingId: string;
        },
    );
  assert.equal(new Set(findings.map((f) => f.findingId)).size, findings.length, 'no duplicates');
  const rows = readParquetRows(join(out, 'trials.parquet')).rows;
  const present = rows
    .filter((r) => String(r[knockedOut]) === 'false')
    .map((r) => String(r.trial))
    .sort();
  const starved = findings.filter(
    (f) => f.kind === 'starved-feature' && f.analyzer === 'gradient-share',
  );
  assert.deepEqual(starved.map((f) => f.trialId).sort(), present);
  assert.ok(starved.every((f) => f.evidence.feature === 1 && f.evidence.dominant === 0));
  const ratios = findings.filter((f) => f.kind === 'counterfactual-ratio');
  assert.equal(ratios.length, present.length, 'one knock-out pair per seed');
  assert.ok(
    ratios.every((f) => f.evidence.ratio! < 0.5),
    ratios.map((f) => f.evidence.ratio).join(','),
  );
});

void test('report.html in headless Chromium: no console error, every expected plot drawn; screenshot kept', async (t) => {
  if (!hasChromium()) {
    t.skip(`${chromiumPath} not found (apt-get install -y chromium)`);
    return;
  }
  await mkdir(artifacts, { recursive: true });
  await withChromium(async (browser) => {
    const { page, url, problems, requests, drawn } = await loadReport(
      browser,
      join(out, 'report.html'),
    );
    assert.deepEqual(
      drawn.map((d) => d.id),
      [
        'error-curves',
        'probe-outputs',
        'gradient-shares',
        'learning-time-vs-frequency',
        'starvation-counterfactual',
      ],
    );
    for (const d of drawn) {
      assert.ok(d.width > 200 && d.height > 150, `${d.id}: svg ${d.width}x${d.height}`);
      assert.ok(
        d.painted > 0 && d.painted === d.marks,
        `${d.id}: ${d.painted} of ${d.marks} marks painted`,
      );
      assert.ok(d.caption.length > 30, `${d.id}: caption`);
    }
    const findingRows = await page.$$eval('table.findings tr', (rows) =>
      rows.map((r) => r.textContent ?? ''),
    );
    assert.ok(
      findingRows.some((r) => r.includes('starved-feature')),
      'the findings table lists starvation',
    );
    await page.screenshot({ path: join(artifacts, 'cli-run-starvation.png'), fullPage: true });
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [url], 'only the page itself is loaded');
  });
});
