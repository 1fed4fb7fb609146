import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynlabError } from '@dynlab/core';
import type { TelemetryColumns } from '@dynlab/spec';
import { openResults, telemetryQuantities, type ResultFiles, type ResultsOptions } from './index';
import {
  phaseSweep,
  speedSweep,
  starvationSweep,
  wideSweep,
  type SyntheticSweep,
} from './synthetic-sweeps.fixture';
import { parseCsv, readParquetFile } from './parquet-reader.fixture';

const root = mkdtemp(join(tmpdir(), 'dynlab-report-'));
after(async () => rm(await root, { recursive: true, force: true }));

async function write(s: SyntheticSweep, opts: Partial<ResultsOptions> = {}): Promise<ResultFiles> {
  const out = await openResults(join(await root, s.sweepId), {
    sweepId: s.sweepId,
    sweepName: s.name,
    axes: s.axes,
    ...opts,
  });
  for (const t of s.trials) await out.addTrial(t.trial, t.outcome, t.telemetry, t.extras);
  for (const f of s.findings) await out.addFinding(f);
  return out.finish();
}

/** The trial table as the test expects it, computed from the fixture without the report's code. */
function expectedRows(s: SyntheticSweep): Record<string, unknown>[] {
  const groups = new Map<string, number>();
  return s.trials.map(({ trial, outcome, telemetry }) => {
    const key = JSON.stringify(s.axes.map((a) => trial.params[a]));
    if (!groups.has(key)) groups.set(key, groups.size);
    const fit = s.findings.find(
      (f) =>
        f.trialId === trial.id && f.kind === 'learning-curve' && f.evidence.probe === undefined,
    );
    let half: number | undefined;
    for (let i = 0; i < telemetry.error.length && half === undefined; i++)
      if (telemetry.error[i]! <= telemetry.error[0]! / 2) half = telemetry.steps[i];
    if (!(telemetry.error[0]! > 0)) half = undefined;
    return {
      trial: trial.id,
      group: groups.get(key),
      seed: trial.seed,
      ...Object.fromEntries(s.axes.map((a) => [a, trial.params[a]])),
      status: outcome.status,
      backend: outcome.backend,
      final_loss: outcome.finalLoss,
      final_error: outcome.finalError,
      learning_time: fit ? fit.evidence.learningStep : (half ?? null),
      learning_time_source: fit ? 'learning-curve' : half !== undefined ? 'half-error' : null,
      steps_done: outcome.stepsDone,
      wall_s: outcome.wallS,
      failure: outcome.error ? `${outcome.error.code}: ${outcome.error.message}` : null,
    };
  });
}

/** A Parquet cell in the form of the expected rows (params as JSON text, int64 as number). */
function normalize(
  row: Record<string, unknown>,
  axes: readonly string[],
  axisTypes: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const value = typeof v === 'bigint' ? Number(v) : v;
    out[k] = axes.includes(k)
      ? axisTypes[k] === 'Utf8' && !String(value).startsWith('[')
        ? JSON.stringify(value)
        : String(value)
      : value;
  }
  return out;
}

/** Rebuilds one trial's TelemetryColumns from long-format rows. */
function rebuild(rows: Record<string, unknown>[], like: TelemetryColumns): TelemetryColumns {
  const t: TelemetryColumns = {
    ...like,
    steps: [],
    loss: [],
    error: [],
    gradShare: [],
    probeOutputs: [],
    paramNorms: [],
    deadUnits: [],
    trainOutputs: [],
  };
  const steps = new Set<number>();
  for (const r of rows) {
    steps.add(r.step as number);
    t[r.quantity as (typeof telemetryQuantities)[number]].push(r.value as number);
  }
  t.steps = [...steps];
  return t;
}

for (const make of [starvationSweep, speedSweep, phaseSweep]) {
  void test(`${make.name}: trials.parquet, trials.csv, telemetry.parquet and findings.jsonl read back with independent readers`, async () => {
    const s = make();
    const files = await write(s);
    assert.equal(files.trials, s.trials.length);
    assert.equal(files.findings, s.findings.length);

    const trials = await readParquetFile(files.trialsParquet);
    const expected = expectedRows(s);
    assert.deepEqual(trials.columns, Object.keys(expected[0]!));
    const types = Object.fromEntries(trials.columns.map((c, i) => [c, trials.types[i]!]));
    assert.deepEqual(
      [
        types.trial,
        types.group,
        types.seed,
        types.status,
        types.final_loss,
        types.learning_time,
        types.steps_done,
        types.wall_s,
      ],
      ['Utf8', 'Int32', 'Int64', 'Utf8', 'Float64', 'Float64', 'Int32', 'Float64'],
    );
    assert.deepEqual(
      trials.rows.map((r) => normalize(r, s.axes, types)),
      expected,
    );

    const csv = parseCsv(await readFile(files.trialsCsv, 'utf8'));
    assert.deepEqual(csv[0], trials.columns);
    assert.equal(csv.length, s.trials.length + 1);
    csv.slice(1).forEach((line, i) => {
      const pq = trials.rows[i]!;
      trials.columns.forEach((c, j) => {
        const v = pq[c];
        const text = v === null ? '' : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : String(v);
        assert.equal(line[j], text, `row ${i} column ${c}`);
      });
    });

    const tel = await readParquetFile(files.telemetryParquet);
    assert.deepEqual(tel.columns, ['trial', 'step', 'quantity', 'index', 'value']);
    assert.deepEqual(tel.types, ['Utf8', 'Int32', 'Utf8', 'Int32', 'Float64']);
    assert.deepEqual(tel.nullable, [false, false, false, false, false]);
    const expectedRowCount = s.trials.reduce(
      (n, t) => n + telemetryQuantities.reduce((m, q) => m + t.telemetry[q].length, 0),
      0,
    );
    assert.equal(tel.rows.length, expectedRowCount);
    assert.equal(files.telemetryRows, expectedRowCount);
    const byTrial = new Map<string, Record<string, unknown>[]>();
    for (const r of tel.rows)
      byTrial.set(r.trial as string, [...(byTrial.get(r.trial as string) ?? []), r]);
    for (const t of s.trials) {
      if (t.telemetry.steps.length === 0) {
        assert.equal(byTrial.has(t.trial.id), false);
        continue;
      }
      assert.deepEqual(rebuild(byTrial.get(t.trial.id)!, t.telemetry), t.telemetry, t.trial.id);
    }

    const lines = (await readFile(files.findingsJsonl, 'utf8')).trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l) as unknown),
      s.findings,
    );
  });
}

void test('a redelivered trial and a repeated finding are recorded once; finish twice is a CONFLICT', async () => {
  const s = speedSweep();
  const out = await openResults(join(await root, 'dup'), { sweepId: s.sweepId, axes: s.axes });
  const [a, b] = s.trials;
  await Promise.all([
    out.addTrial(a!.trial, a!.outcome, a!.telemetry),
    out.addTrial(a!.trial, a!.outcome, a!.telemetry),
    out.addTrial(b!.trial, b!.outcome, b!.telemetry),
  ]);
  await out.addFinding(s.findings[0]!);
  await out.addFinding(s.findings[0]!);
  const bad = { ...b!.telemetry, gradShare: [1] };
  await assert.rejects(
    out.addTrial({ ...b!.trial, id: 'other' }, b!.outcome, bad),
    (e: unknown) => e instanceof DynlabError && e.code === 'SHAPE',
  );
  const files = await out.finish();
  assert.equal(files.trials, 2);
  assert.equal(files.findings, 1);
  assert.equal((await readParquetFile(files.trialsParquet)).rows.length, 2);
  assert.equal(
    files.telemetryRows,
    telemetryQuantities.reduce((n, q) => n + a!.telemetry[q].length + b!.telemetry[q].length, 0),
  );
  await assert.rejects(
    out.finish(),
    (e: unknown) => e instanceof DynlabError && e.code === 'CONFLICT',
  );
  await assert.rejects(
    out.addTrial(a!.trial, a!.outcome, a!.telemetry),
    (e: unknown) => e instanceof DynlabError && e.code === 'CONFLICT',
  );
});

void test('an empty sweep still writes valid files', async () => {
  const files = await openResults(join(await root, 'empty'), {
    sweepId: 'sw0',
    axes: ['optimizer.learningRate'],
  }).then((o) => o.finish());
  const trials = await readParquetFile(files.trialsParquet);
  assert.equal(trials.rows.length, 0);
  assert.equal(trials.columns[3], 'optimizer.learningRate');
  assert.equal((await readParquetFile(files.telemetryParquet)).rows.length, 0);
  assert.deepEqual(files.figures, []);
  assert.match(await readFile(files.reportHtml, 'utf8'), /No plot: the sweep recorded nothing/);
});

void test('a wide sweep streams telemetry in row groups and keeps only the plot budget of series', async () => {
  const s = wideSweep(120, 12);
  const files = await write(s, { rowGroupRows: 5000, plots: { maxTrials: 20, seedsPerGroup: 2 } });
  const expectedRows = s.trials.reduce(
    (n, t) => n + telemetryQuantities.reduce((m, q) => m + t.telemetry[q].length, 0),
    0,
  );
  assert.equal(files.telemetryRows, expectedRows);
  assert.equal(files.telemetryRowGroups, Math.ceil(expectedRows / 5000));
  const tel = await readParquetFile(files.telemetryParquet);
  assert.equal(tel.rowGroups, Math.ceil(expectedRows / 5000));
  assert.equal(tel.rows.length, expectedRows);
  const html = await readFile(files.reportHtml, 'utf8');
  assert.match(html, /100 trials are in the data files only/);
  assert.ok(html.length < 700_000, `report is ${html.length} bytes`);
  assert.deepEqual(files.figures, s.expectedFigures);
});

const python = '/usr/bin/python3';
const hasModules = (mods: string) =>
  existsSync(python) && spawnSync(python, ['-c', `import ${mods}`]).status === 0;

void test('pyarrow and pandas read the Parquet files', async (t) => {
  if (!hasModules('pyarrow, pandas')) {
    t.skip(
      `${python} with pyarrow and pandas is not installed (Debian has no python3-pyarrow package); the parquet-wasm read-back covers the files`,
    );
    return;
  }
  const files = await write(starvationSweep(), {});
  const script = `
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]); d = pq.read_table(sys.argv[2]).to_pandas()
print(json.dumps({"rows": t.num_rows, "cols": t.column_names, "knocked": [bool(x) for x in t.column("data.features.features[0].knockedOut").to_pylist()],
  "tel": len(d), "loss0": float(d[(d.quantity == "loss")].value.iloc[0]), "quantities": sorted(d.quantity.unique().tolist())}))`;
  const r = JSON.parse(
    execFileSync(python, ['-c', script, files.trialsParquet, files.telemetryParquet], {
      encoding: 'utf8',
    }),
  ) as Record<string, unknown>;
  const s = starvationSweep();
  assert.equal(r.rows, s.trials.length);
  assert.deepEqual(
    r.knocked,
    s.trials.map((x) => x.trial.params['data.features.features[0].knockedOut'] === 'true'),
  );
  assert.equal(r.tel, files.telemetryRows);
  assert.equal(r.loss0, s.trials[0]!.telemetry.loss[0]);
  assert.deepEqual(r.quantities, [
    'deadUnits',
    'error',
    'gradShare',
    'loss',
    'paramNorms',
    'probeOutputs',
  ]);
});

void test('pandas reads trials.csv with the right types', async (t) => {
  if (!hasModules('pandas')) {
    t.skip(`${python} with pandas is not installed (apt-get install -y python3-pandas)`);
    return;
  }
  const s = speedSweep();
  const files = await write({ ...s, sweepId: 'swB-pandas' });
  const script = `
import json, sys, pandas as pd
d = pd.read_csv(sys.argv[1])
print(json.dumps({"rows": len(d), "dtypes": {c: str(t) for c, t in d.dtypes.items()}, "lt": [None if pd.isna(x) else float(x) for x in d.learning_time],
  "failure": [None if pd.isna(x) else x for x in d.failure], "nan_loss": int(d.final_loss.isna().sum())}))`;
  const r = JSON.parse(
    execFileSync(python, ['-c', script, files.trialsCsv], { encoding: 'utf8' }),
  ) as {
    rows: number;
    dtypes: Record<string, string>;
    lt: (number | null)[];
    failure: (string | null)[];
    nan_loss: number;
  };
  assert.equal(r.rows, s.trials.length);
  assert.equal(r.dtypes['data.features.features[0].norm'], 'float64');
  assert.equal(r.dtypes.seed, 'int64');
  assert.equal(r.dtypes.status, 'object');
  assert.deepEqual(
    r.lt,
    expectedRows(s).map((x) => x.learning_time),
  );
  assert.equal(r.failure[r.failure.length - 1], 'BACKEND: worker crashed, "twice"');
  assert.equal(r.nan_loss, 2);
});
