/**
 * `dynlab simulate`: its JSON lines parse, and carry the very numbers `runTrial` gives for the
 * same spec in this process (same backend, same seed: the engine is deterministic); a small sweep
 * gives one result line per trial.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordSteps, runTrial, type BackendName } from '@dynlab/engine';
import { compileTrial, loadSpecFile } from '@dynlab/spec';
import { runDynlab } from './dynlab-process.fixture';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

interface Line {
  type: 'telemetry' | 'result';
  trial: string;
  step?: number;
  loss?: number;
  error?: number;
  gradShare?: number[];
  probeOutputs?: number[];
  paramNorms?: number[];
  deadUnits?: number[];
  status?: string;
  finalLoss?: number;
  finalError?: number;
  stepsDone?: number;
  backend?: string;
  params?: Record<string, unknown>;
}

const trialYaml = [
  'data: { features: { n: 64, features: [{ frequency: 1 }, { frequency: 0.25 }] } }',
  'model: { kind: relu, hidden: [8] }',
  'init: { scale: 0.1 }',
  'optimizer: { learningRate: 0.5 }',
  'steps: 300',
  'seed: 7',
  'record: { logPoints: 25, probes: [{ name: e0, x: [1, 0] }, { name: e1, x: [0, 1] }] }',
].join('\n');

void test('simulate writes JSON lines with the numbers runTrial gives for the same spec', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynlab-cli-simulate-'));
  dirs.push(dir);
  const spec = join(dir, 'trial.yaml');
  writeFileSync(spec, trialYaml);
  const out = join(dir, 'trial.jsonl');
  const r = await runDynlab(['simulate', spec, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const lines = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const rows = lines.filter((l) => l.type === 'telemetry');
  const results = lines.filter((l) => l.type === 'result');
  assert.equal(results.length, 1);
  assert.equal(lines[lines.length - 1]!.type, 'result', 'the result comes last');
  const result = results[0]!;

  const expected = await runTrial(compileTrial(await loadSpecFile(spec)), {
    backend: result.backend as BackendName,
  });
  const t = expected.telemetry;
  assert.deepEqual(
    rows.map((x) => x.step),
    t.steps,
  );
  assert.deepEqual(
    rows.map((x) => x.loss),
    t.loss,
  );
  assert.deepEqual(
    rows.map((x) => x.error),
    t.error,
  );
  assert.deepEqual(
    rows.flatMap((x) => x.gradShare ?? []),
    t.gradShare,
  );
  assert.deepEqual(
    rows.flatMap((x) => x.probeOutputs ?? []),
    t.probeOutputs,
  );
  assert.deepEqual(
    rows.flatMap((x) => x.paramNorms ?? []),
    t.paramNorms,
  );
  assert.deepEqual(
    rows.flatMap((x) => x.deadUnits ?? []),
    t.deadUnits,
  );
  assert.ok(
    rows.every(
      (x) =>
        x.gradShare!.length === 2 &&
        x.probeOutputs!.length === 2 &&
        x.paramNorms!.length === 2 &&
        x.deadUnits!.length === 1,
    ),
  );
  assert.deepEqual(
    {
      status: result.status,
      finalLoss: result.finalLoss,
      finalError: result.finalError,
      stepsDone: result.stepsDone,
    },
    {
      status: expected.outcome.status,
      finalLoss: expected.outcome.finalLoss,
      finalError: expected.outcome.finalError,
      stepsDone: expected.outcome.stepsDone,
    },
  );
  assert.equal(result.stepsDone, 300);
});

void test('simulate runs a small sweep to stdout: one result per trial, with its swept values', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynlab-cli-simulate-'));
  dirs.push(dir);
  const spec = join(dir, 'sweep.yaml');
  writeFileSync(
    spec,
    [
      'base:',
      ...trialYaml.split('\n').map((l) => `  ${l}`),
      'axes: [{ path: optimizer.learningRate, values: [0.1, 0.5] }]',
      'seeds: 2',
    ].join('\n'),
  );
  const r = await runDynlab(['simulate', spec]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const results = lines.filter((l) => l.type === 'result');
  assert.deepEqual(
    results.map((x) => [x.trial, x.params, x.status]),
    [
      ['sim-t000000', { 'optimizer.learningRate': 0.1, seed: 0 }, 'ok'],
      ['sim-t000001', { 'optimizer.learningRate': 0.1, seed: 1 }, 'ok'],
      ['sim-t000002', { 'optimizer.learningRate': 0.5, seed: 0 }, 'ok'],
      ['sim-t000003', { 'optimizer.learningRate': 0.5, seed: 1 }, 'ok'],
    ],
  );
  const steps = recordSteps(
    compileTrial(await loadSpecFile(spec).then((s) => (s as { base: unknown }).base)),
  );
  for (const res of results)
    assert.deepEqual(
      lines.filter((l) => l.type === 'telemetry' && l.trial === res.trial).map((l) => l.step),
      steps,
      res.trial,
    );
});
