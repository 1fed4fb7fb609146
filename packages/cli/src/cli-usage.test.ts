/**
 * The command line's contract, through the real binary: help on every command with an example,
 * exit codes (0 ok, 1 failure, 2 bad input), `dynlab: <message>` errors without a stack trace,
 * every problem of a broken sweep with its path, and what to install when nats-server is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from './run-cli';
import { runDynlab } from './dynlab-process.fixture';

const noStack = /\n\s+at /;

void test('--help of every command exits 0, shows its usage and an example', async () => {
  const results = await Promise.all(
    commands.map(async (c) => ({ name: c.name, ...(await runDynlab([c.name, '--help'])) })),
  );
  for (const r of results) {
    assert.equal(r.code, 0, `${r.name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`dynlab ${r.name}`), r.name);
    assert.match(
      r.stdout,
      new RegExp(`Examples?:[\\s\\S]*dynlab ${r.name}\\b`),
      `${r.name}: an example command line`,
    );
  }
  const top = await runDynlab(['--help']);
  assert.equal(top.code, 0);
  for (const c of commands)
    assert.match(top.stdout, new RegExp(`\\n  ${c.name} +\\S`), `dynlab --help lists ${c.name}`);
});

void test('an unknown command or flag exits 2 with a hint; no command prints the overview and exits 2', async () => {
  const typo = await runDynlab(['valdiate', 'x.yaml']);
  assert.equal(typo.code, 2);
  assert.equal(
    typo.stderr,
    "dynlab: unknown command 'valdiate'\nhint: did you mean 'dynlab validate'? ('dynlab --help' lists the commands)\n",
  );
  const flag = await runDynlab(['validate', '--strict', 'x.yaml']);
  assert.equal(flag.code, 2);
  assert.match(
    flag.stderr,
    /^dynlab: validate: Unknown option '--strict'\nhint: run 'dynlab validate --help' for its flags\n$/,
  );
  const missing = await runDynlab(['export']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^dynlab: export: missing SWEEP\n/);
  const none = await runDynlab([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Commands:/);
  const badNumber = await runDynlab(['run', 'examples/starvation.yaml', '--trainers', 'two']);
  assert.equal(badNumber.code, 2);
  assert.match(
    badNumber.stderr,
    /^dynlab: --trainers: expected a whole number from 1 to 64, got 'two'\n/,
  );
});

void test('a missing spec file is a clear error with exit 2, for validate, simulate and run alike', async () => {
  for (const cmd of ['validate', 'simulate', 'run']) {
    const r = await runDynlab([cmd, 'no/such/sweep.yaml']);
    assert.equal(r.code, 2, cmd);
    assert.equal(r.stderr, 'dynlab: cannot read spec file no/such/sweep.yaml: ENOENT\n', cmd);
    assert.equal(r.stdout, '', cmd);
  }
});

void test('validate prints every problem of a broken sweep with its path and exits 2; a valid one gets a summary', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynlab-cli-validate-'));
  try {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      [
        'name: broken',
        'base:',
        '  data: { features: { n: 0, features: [] } }',
        '  model: { kind: relu, hidden: [8], colour: red }',
        '  steps: -5',
        'axes:',
        '  - path: optimizer.learningRate',
        '    values: []',
        '  - path: model.nonsense',
        '    values: [1]',
        'seeds: 0',
      ].join('\n'),
    );
    const r = await runDynlab(['validate', broken]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, noStack);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'dynlab: invalid sweep spec (7 problems)');
    for (const [path, message] of [
      ['base.data.features.n', 'greater than 0'],
      ['base.data.features.features', 'expected at least one feature'],
      ['base.model', "unknown key 'colour'"],
      ['base.steps', 'greater than 0'],
      ['axes[0].values', 'expected a non-empty list, got []'],
      ['axes[1].path', "'model.nonsense' is not a field of the base trial"],
      ['seeds', 'greater than 0'],
    ] as const)
      assert.ok(
        lines.some((l) => l.startsWith(`  ${path}: `) && l.includes(message)),
        `a problem at ${path} (${message}) in:\n${r.stderr}`,
      );
    assert.equal(lines.length, 8, 'one line per problem');

    const ok = await runDynlab(['validate', 'examples/starvation.yaml']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      "examples/starvation.yaml: valid sweep 'starvation': 8 trials (grid over 1 axis x 4 seeds), 1 job of at most 16, 1 shape\n",
    );
    // Tiny trials: two populations of 16 per job (the planner's populationsPerJob).
    const tiny = join(dir, 'tiny.yaml');
    writeFileSync(
      tiny,
      [
        'name: tiny',
        'base:',
        '  data: { features: { n: 16, features: [{}, { frequency: 0.5 }] } }',
        '  model: { kind: relu, hidden: [4] }',
        '  steps: 40',
        'seeds: 1024',
        'population: 16',
      ].join('\n'),
    );
    const packed = await runDynlab(['validate', tiny]);
    assert.equal(packed.code, 0, packed.stderr);
    assert.match(
      packed.stdout,
      /1024 trials .*, 32 jobs \(64 populations of at most 16\), 1 shape\n$/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('run without nats-server says what to install and exits 1', async () => {
  const r = await runDynlab(['run', 'examples/starvation.yaml'], {
    env: { NATS_SERVER: '/nonexistent/nats-server' },
  });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /dynlab: nats-server is needed for a local cluster and was not found \(NATS_SERVER=\/nonexistent\/nats-server\)\. Install it \(Debian\/Ubuntu: apt-get install nats-server/,
  );
  assert.doesNotMatch(r.stderr, noStack);
});

void test('a cluster command with no NATS there says so, with a hint, and exits 1', async () => {
  const r = await runDynlab(['status', '--nats', 'nats://127.0.0.1:9']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^dynlab: cannot connect to NATS at nats:\/\/127\.0\.0\.1:9: .*\nhint: is nats-server running there\?/,
  );
  assert.doesNotMatch(r.stderr, noStack);
});
