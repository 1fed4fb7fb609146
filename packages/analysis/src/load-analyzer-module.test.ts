import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, ErrorCode, NotFoundError } from '@dynlab/core';
import { builtinAnalyzers, getBuiltinAnalyzer } from './builtin-analyzers';
import { loadAnalyzerModule, resolveAnalyzer } from './load-analyzer-module';
import { collectingHost, featureTrial, ofKind, okOutcome, seriesOf } from './test-support';

const repoRoot = path.resolve(__dirname, '../../..');
const example = path.join(repoRoot, 'examples/analyzers/loss-plateau.js');

test("the example plugin loads by path (borrowing the host's @dynlab/analysis and zod) and works in a host", async () => {
  const def = await loadAnalyzerModule('./examples/analyzers/loss-plateau.js', { cwd: repoRoot });
  assert.equal(def.name, 'loss-plateau');
  assert.equal(await loadAnalyzerModule(example), def, 'an absolute path gives the same module');
  const { host, findings } = collectingHost([{ definition: def, options: { maxFraction: 0.3 } }]);
  const slow = featureTrial('slow', [[1, 1]], { steps: 100 });
  const fast = featureTrial('fast', [[1, 1]], { steps: 100 });
  const chunks: [typeof slow, number[], number[]][] = [
    [slow, [0, 10, 40], [0.69, 0.68, 0.67]],
    [fast, [0, 10], [0.69, 0.5]],
    [slow, [60, 100], [0.3, 0.1]],
  ];
  for (const [t, steps, loss] of chunks)
    await host.chunk('s', t, seriesOf(steps.map((step, i) => ({ step, loss: loss[i] }))));
  await host.trialEnd('s', slow, okOutcome({ stepsDone: 100 }));
  await host.trialEnd('s', fast, okOutcome({ stepsDone: 100 }));
  await host.sweepEnd('s');
  const [f] = ofKind(findings, 'slow-start');
  assert.deepEqual([f!.trialId, f!.evidence.plateauSteps, f!.evidence.fraction], ['slow', 60, 0.6]);
  assert.deepEqual(ofKind(findings, 'slow-start-summary')[0]!.evidence, {
    trials: 2,
    slow: 1,
    fraction: 0.5,
  });
  assert.throws(
    () => collectingHost([{ definition: def, options: { drop: 2 } }]),
    /analyzers\[0\]\.options\.drop/,
  );
});

test('plugins load by package name (named export) and as ES modules (default export)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dynlab-plugins-'));
  try {
    const schema = 'const options = { safeParse: (x) => ({ success: true, data: x }) };';
    mkdirSync(path.join(dir, 'node_modules/dynlab-plugin-x'), { recursive: true });
    writeFileSync(
      path.join(dir, 'node_modules/dynlab-plugin-x/index.js'),
      `${schema}\nexports.analyzer = { name: 'plugin-x', version: '1', description: 'x', options, setup: () => ({}) };\n`,
    );
    writeFileSync(
      path.join(dir, 'esm.mjs'),
      `${schema}\nexport default { name: 'esm-one', version: '1', description: 'x', options, setup: () => ({}) };\n`,
    );
    writeFileSync(path.join(dir, 'nothing.js'), 'module.exports = { hello: 1 };\n');
    writeFileSync(
      path.join(dir, 'broken.js'),
      `module.exports = { name: 'Bad', version: '1', description: 'x', setup: 1 };\n`,
    );
    writeFileSync(path.join(dir, 'throws.js'), `throw new Error('syntax of the science');\n`);
    assert.equal((await loadAnalyzerModule('dynlab-plugin-x', { cwd: dir })).name, 'plugin-x');
    assert.equal((await loadAnalyzerModule('./esm.mjs', { cwd: dir })).name, 'esm-one');
    await assert.rejects(
      loadAnalyzerModule('./nothing.js', { cwd: dir }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /neither a default export nor an export named analyzer/.test(e.message),
    );
    await assert.rejects(
      loadAnalyzerModule('./broken.js', { cwd: dir }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /name: expected a kebab-case name/.test(e.message) &&
        /options: expected a zod schema/.test(e.message),
    );
    await assert.rejects(
      loadAnalyzerModule('./throws.js', { cwd: dir }),
      (e: unknown) =>
        e instanceof ConfigError && /failed to load: syntax of the science/.test(e.message),
    );
    await assert.rejects(
      loadAnalyzerModule('./missing.js', { cwd: dir }),
      (e: unknown) => e instanceof NotFoundError && e.code === ErrorCode.NotFound,
    );
    await assert.rejects(
      loadAnalyzerModule('no-such-dynlab-plugin', { cwd: dir }),
      (e: unknown) => e instanceof NotFoundError && /not a built-in analyzer/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('built-ins: unique names, defaults for every option, found by name first', async () => {
  const names = builtinAnalyzers.map((a) => a.name);
  assert.deepEqual(names, [
    'gradient-share',
    'starvation-counterfactual',
    'learning-curve',
    'convergence-speed',
    'failed-training',
    'loss-comparison',
    'modes',
  ]);
  for (const a of builtinAnalyzers) assert.equal(a.options.safeParse({}).success, true, a.name);
  assert.equal(getBuiltinAnalyzer('modes')?.perSweep, true);
  assert.equal(getBuiltinAnalyzer('nope'), undefined);
  assert.equal(await resolveAnalyzer('gradient-share'), getBuiltinAnalyzer('gradient-share'));
  assert.equal((await resolveAnalyzer(example)).name, 'loss-plateau');
});
