/** Every sweep in examples/ stays valid (the validator the coordinator runs, default limits) and says what it shows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSweep, loadSpecFile } from '@dynlab/spec';
import { repoRoot } from './dynlab-process.fixture';

const dir = join(repoRoot, 'examples');
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));

void test('the examples cover every phenomenon of the papers', () => {
  for (const name of [
    'starvation',
    'starvation-spectral-decoupling',
    'sigmoidal-error',
    'modes',
    'failed-training',
    'norm-and-frequency',
    'hinge-vs-cross-entropy',
  ])
    assert.ok(files.includes(`${name}.yaml`), `examples/${name}.yaml`);
});

void test('every example compiles, stays small, and opens with a comment saying what to look for', async () => {
  for (const f of files) {
    const sweep = compileSweep(await loadSpecFile(join(dir, f)));
    assert.ok(sweep.trialCount > 0 && sweep.trialCount <= 64, `${f}: ${sweep.trialCount} trials`);
    const text = readFileSync(join(dir, f), 'utf8');
    assert.match(text, /^# \S/, `${f}: a comment header`);
    assert.match(text, /# What to look for in the report:/, `${f}: what to look for`);
    assert.match(
      text,
      new RegExp(`# Run it: dynlab run examples/${f.replace('.', '\\.')}`),
      `${f}: how to run it`,
    );
  }
});
