/**
 * The commands that talk to a running cluster (submit, watch, status, export, replay, cancel,
 * resume), each run as the `dynlab` binary against a local cluster this test starts, and checked
 * against what the client reads from the same streams. Also: an unknown sweep is bad input (2),
 * and a NATS with no coordinator says so (1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynlabClient } from '@dynlab/client';
import { startLocalCluster, type LocalCluster } from '@dynlab/cluster';
import { startNats } from '@dynlab/testing';
import { readParquetRows, runDynlab } from './dynlab-process.fixture';

let cluster: LocalCluster;
let client: DynlabClient;
let dir = '';
let sweepId = '';
const nats = () => ['--nats', cluster.natsUrl];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynlab-cli-cluster-'));
  cluster = await startLocalCluster({ env: { DYNLAB_LOG_LEVEL: 'warn' } });
  client = await DynlabClient.connect({ servers: cluster.natsUrl });
});
after(async () => {
  await client?.close();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

void test('submit prints the sweep id alone on stdout; watch follows it to completion; status shows it', async () => {
  const sub = await runDynlab(['submit', 'examples/starvation.yaml', ...nats()]);
  assert.equal(sub.code, 0, sub.stderr);
  sweepId = sub.stdout.trim();
  assert.match(sweepId, /^sw-[a-z0-9-]+$/);
  assert.match(
    sub.stderr,
    new RegExp(`^submitted: ${sweepId}  starvation  running  \\d+/8 trials`),
  );

  const watch = await runDynlab(['watch', sweepId, ...nats()]);
  assert.equal(watch.code, 0, watch.stderr);
  assert.match(watch.stdout, new RegExp(`${sweepId}: 8/8 trials \\(100%\\) .* complete`));

  const list = await runDynlab(['status', ...nats()]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^SWEEP +NAME +STATE +TRIALS +FAILED +FINDINGS +CREATED \(UTC\)\n/);
  assert.match(list.stdout, new RegExp(`\\n${sweepId} +starvation +complete +8/8 +0 `));

  const one = await runDynlab(['status', sweepId, '--json', ...nats()]);
  assert.equal(one.code, 0, one.stderr);
  const st = JSON.parse(one.stdout) as {
    sweepId: string;
    state: string;
    counts: { total: number; ok: number };
  };
  assert.deepEqual(
    [st.sweepId, st.state, st.counts.total, st.counts.ok],
    [sweepId, 'SWEEP_STATE_COMPLETE', 8, 8],
  );
});

void test('export writes the results and report of a sweep; what it holds matches the streams', async () => {
  assert.ok(sweepId, 'needs the submitted sweep');
  // The analyzer's per-sweep findings come a moment after the sweep completes.
  let findings = await client.findings(sweepId);
  for (let i = 0; i < 40 && !findings.some((f) => f.kind === 'counterfactual-summary'); i++) {
    await new Promise((r) => setTimeout(r, 250));
    findings = await client.findings(sweepId);
  }
  const out = join(dir, 'export');
  const r = await runDynlab(['export', sweepId, '--out', out, ...nats()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^exported 8 trials, \\d+ telemetry rows and ${findings.length} findings to ${out}\\n`,
    ),
  );
  const trials = readParquetRows(join(out, 'trials.parquet')).rows;
  assert.equal(trials.length, 8);
  let results = 0;
  for await (const res of client.results(sweepId)) {
    results++;
    const row = trials.find((t) => t.trial === res.trialId);
    assert.ok(row, res.trialId);
    assert.equal(row.final_loss, res.finalLoss, `${res.trialId}: final loss`);
  }
  assert.equal(results, 8);
  const lines = readFileSync(join(out, 'findings.jsonl'), 'utf8').trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { findingId: string }).findingId).sort(),
    findings.map((f) => f.findingId).sort(),
  );
  assert.match(
    readFileSync(join(out, 'report.html'), 'utf8'),
    /data-plot="starvation-counterfactual"/,
  );
});

void test('replay runs an analyzer over the stored telemetry: the same findings again, published without duplicates', async () => {
  assert.ok(sweepId, 'needs the submitted sweep');
  const before = await client.findings(sweepId);
  const live = before.filter((f) => f.analyzer === 'gradient-share');
  assert.ok(live.length >= 8, 'a gradient-share finding per trial at least');
  const dry = await runDynlab([
    'replay',
    sweepId,
    '--analyzer',
    'gradient-share',
    '--dry-run',
    ...nats(),
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(
    dry.stderr,
    `${live.length} findings from gradient-share over 8 trials (dry run: not published)\n`,
  );
  const printed = dry.stdout.trimEnd().split('\n');
  assert.equal(printed.length, live.length);
  for (const f of live)
    assert.ok(
      printed.some((l) => l.includes(f.trialId) && l.includes(f.message)),
      `${f.kind} ${f.trialId}`,
    );

  const pub = await runDynlab(['replay', sweepId, '--analyzer', 'gradient-share', ...nats()]);
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stderr, /, published\n$/);
  assert.equal(
    (await client.findings(sweepId)).length,
    before.length,
    'deterministic finding ids: nothing duplicated',
  );

  const unknown = await runDynlab(['replay', sweepId, '--analyzer', 'no-such-analyzer', ...nats()]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^dynlab: analyzer module 'no-such-analyzer' not found/);
});

void test('cancel stops a running sweep; resume re-enqueues what has no outcome', async () => {
  const spec = join(dir, 'slow.yaml');
  writeFileSync(
    spec,
    [
      'name: slow',
      'base:',
      '  data: { features: { n: 256, features: [{ frequency: 1 }, { frequency: 0.2 }] } }',
      '  model: { kind: relu, hidden: [64] }',
      '  steps: 100000',
      '  record: { logPoints: 10 }',
      'seeds: 6',
      'population: 1',
    ].join('\n'),
  );
  const sub = await runDynlab(['submit', spec, ...nats()]);
  assert.equal(sub.code, 0, sub.stderr);
  const id = sub.stdout.trim();
  const cancel = await runDynlab(['cancel', id, ...nats()]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, new RegExp(`^cancelled: ${id}  slow  cancelled  `));
  const watch = await runDynlab(['watch', id, ...nats()]);
  assert.equal(watch.code, 1, 'a cancelled sweep is not a success');
  const resume = await runDynlab(['resume', id, ...nats()]);
  assert.equal(resume.code, 0, resume.stderr);
  const requeued = Number(/^resumed: (\d+) trials? re-enqueued; /.exec(resume.stdout)?.[1]);
  assert.ok(requeued >= 1 && requeued <= 6, resume.stdout);
  assert.match(resume.stdout, new RegExp(`; ${id}  slow  running  `));
  await client.cancel(id);
});

void test('an unknown sweep is bad input (exit 2); a NATS with no coordinator is a failure (exit 1) with a hint', async () => {
  const unknown = await runDynlab(['status', 'sw-nope', ...nats()]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, "dynlab: no sweep 'sw-nope'\n");
  const bare = await startNats();
  try {
    const r = await runDynlab(['status', '--nats', bare.url]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^dynlab: no service is answering on \\S+\\nhint: no coordinator is answering at ${bare.url.replace(/\./g, '\\.')}: start one with 'dynlab coordinator --nats`,
      ),
    );
  } finally {
    await bare.cleanup();
  }
});
