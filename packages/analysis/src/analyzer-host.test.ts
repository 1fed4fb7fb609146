import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { DynlabError, ErrorCode, ValidationError } from '@dynlab/core';
import type { CompiledSweep, CompiledTrial, TelemetryColumns } from '@dynlab/spec';
import { AnalyzerHost } from './analyzer-host';
import { defineAnalyzer, type SweepTrial } from './define-analyzer';
import { findingId } from './finding-id';
import { collectingHost, featureTrial, ofKind, okOutcome, seriesOf } from './test-support';

const quiet = (
  name: string,
  setup: Parameters<typeof defineAnalyzer>[0]['setup'] = () => ({}),
  perSweep = false,
) =>
  defineAnalyzer({
    name,
    version: '0.0.1',
    description: 'test',
    options: z.object({}).strict(),
    perSweep,
    setup,
  });

const trial = (id: string) => featureTrial(id, [[1, 1]]);

test('defineAnalyzer names every problem of a broken definition', () => {
  assert.throws(
    () =>
      defineAnalyzer({
        name: 'Bad Name',
        version: '',
        description: 'x',
        options: undefined as unknown as z.ZodTypeAny,
        setup: 3 as unknown as () => void,
      }),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ['name', 'version', 'options', 'setup'],
      );
      return true;
    },
  );
});

test('the host rejects duplicate names and bad options, each problem with its path', () => {
  const a = defineAnalyzer({
    name: 'a',
    version: '1',
    description: 'x',
    options: z
      .object({ threshold: z.number().default(0.5), mode: z.enum(['x', 'y']).default('x') })
      .strict(),
    setup: () => ({}),
  });
  assert.throws(
    () =>
      new AnalyzerHost({
        analyzers: [
          { definition: a, options: { threshold: 'high', mode: 'z', extra: 1 } },
          { definition: a },
          { definition: { name: 'c' } as never },
        ],
        onFinding: () => undefined,
        setupTimeoutMs: -1,
      }),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, ErrorCode.Validation);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        [
          'analyzers[0].options.threshold',
          'analyzers[0].options.mode',
          'analyzers[0].options',
          'analyzers[1].definition.name',
          'analyzers[2].definition.version',
          'analyzers[2].definition.description',
          'analyzers[2].definition.options',
          'analyzers[2].definition.setup',
          'setupTimeoutMs',
        ],
      );
      assert.match(err.issues[3]!.message, /duplicate analyzer name 'a' \(also analyzers\[0\]\)/);
      assert.match(err.issues[2]!.message, /'extra'/);
      return true;
    },
  );
});

test('options are defaulted and handed to setup once per sweep, with the sweep in the context', async () => {
  const seen: { sweepId: string; threshold: number; sweep: CompiledSweep | undefined }[] = [];
  const a = defineAnalyzer({
    name: 'a',
    version: '1',
    description: 'x',
    options: z.object({ threshold: z.number().default(0.5) }).strict(),
    setup: (ctx, o) =>
      void seen.push({ sweepId: ctx.sweepId, threshold: o.threshold, sweep: ctx.sweep }),
  });
  const { host } = collectingHost([{ definition: a }]);
  const sweep = { name: 's' } as CompiledSweep;
  await host.openSweep('s1', sweep);
  await host.chunk('s1', trial('t1'), seriesOf([{ step: 0, loss: 1 }]));
  await host.trialEnd('s2', trial('t2'), okOutcome());
  assert.deepEqual(seen, [
    { sweepId: 's1', threshold: 0.5, sweep },
    { sweepId: 's2', threshold: 0.5, sweep: undefined },
  ]);
  assert.deepEqual(host.openSweeps, ['s1', 's2']);
});

test('a plugin that throws is logged, counted and reported; the others go on', async () => {
  const thrower = quiet('thrower', () => ({
    onTrialEnd() {
      throw new Error('boom');
    },
  }));
  const good = quiet('good', (ctx) => ({
    onTrialEnd(t) {
      ctx.emit({ kind: 'seen', trialId: t.id, evidence: { x: 1 }, message: 'ok' });
    },
  }));
  const { host, findings, metrics } = collectingHost([
    { definition: thrower },
    { definition: good },
  ]);
  await host.trialEnd('s', trial('t1'), okOutcome());
  await host.trialEnd('s', trial('t2'), okOutcome());
  assert.deepEqual(
    ofKind(findings, 'seen').map((f) => f.trialId),
    ['t1', 't2'],
  );
  const errors = ofKind(findings, 'analyzer-error');
  assert.deepEqual(
    errors.map((f) => [f.analyzer, f.trialId, f.severity, f.evidence.errors]),
    [
      ['thrower', 't1', 'warning', 1],
      ['thrower', 't2', 'warning', 2],
    ],
  );
  assert.match(errors[0]!.message, /analyzer 'thrower' failed in onTrialEnd: boom \(INTERNAL\)/);
  assert.equal(metrics.errors.get('thrower|s|onTrialEnd'), 2);
  assert.equal(metrics.findings.get('good|s|seen|info'), 2);
  assert.equal(metrics.findings.get('thrower|s|analyzer-error|warning'), 2);
  assert.equal(metrics.hooks.get('good|onTrialEnd')?.calls, 2);
});

test('a setup that does not finish in time is an error; the other analyzers still run', async () => {
  let lateClosed = false;
  let release!: () => void;
  const slow = quiet(
    'slow',
    () =>
      new Promise(
        (resolve) => (release = () => resolve({ close: () => void (lateClosed = true) })),
      ),
  );
  const good = quiet('good', (ctx) => ({
    onTrialEnd: (t) => ctx.emit({ kind: 'seen', trialId: t.id, message: 'ok' }),
  }));
  const { host, findings, metrics } = collectingHost([{ definition: slow }, { definition: good }], {
    setupTimeoutMs: 30,
  });
  await host.trialEnd('s', trial('t1'), okOutcome());
  assert.equal(ofKind(findings, 'seen').length, 1);
  const err = ofKind(findings, 'analyzer-error');
  assert.equal(err.length, 1);
  assert.equal(err[0]!.analyzer, 'slow');
  assert.match(err[0]!.message, /setup of analyzer 'slow' did not finish within 30 ms \(TIMEOUT\)/);
  assert.equal(metrics.errors.get('slow|s|setup'), 1);
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(lateClosed, true, 'a late setup is closed at once');
});

test("a bad finding throws into the hook that emitted it and is reported as that analyzer's error", async () => {
  const bad = quiet('bad', (ctx) => ({
    onTrialEnd: () => ctx.emit({ kind: 'Not Kebab', message: 'x' }),
  }));
  const { host, findings } = collectingHost([{ definition: bad }]);
  await host.trialEnd('s', trial('t1'), okOutcome());
  assert.deepEqual(
    findings.map((f) => f.kind),
    ['analyzer-error'],
  );
  assert.match(findings[0]!.message, /kind: expected a kebab-case kind, got "Not Kebab"/);
});

test('after maxErrorFindings the host counts and logs, and reports one summary at sweep end', async () => {
  const thrower = quiet('thrower', () => ({
    onTrialEnd() {
      throw new Error('again');
    },
  }));
  const { host, findings, metrics } = collectingHost([{ definition: thrower }], {
    maxErrorFindings: 1,
  });
  for (const id of ['t1', 't2', 't3']) await host.trialEnd('s', trial(id), okOutcome());
  await host.sweepEnd('s');
  assert.deepEqual(
    findings.map((f) => [f.kind, f.trialId, f.evidence.errors]),
    [
      ['analyzer-error', 't1', 1],
      ['analyzer-error', '', 3],
    ],
  );
  assert.equal(metrics.errors.get('thrower|s|onTrialEnd'), 3);
});

test('chunks accumulate into one series per trial; redelivered rows and a second trial end are dropped', async () => {
  const got: { id: string; steps: number[]; loss: number[]; chunks: number }[] = [];
  let chunks = 0;
  const a = quiet('a', () => ({
    onChunk: () => void chunks++,
    onTrialEnd: (t, _o, s) => void got.push({ id: t.id, steps: s.steps, loss: s.loss, chunks }),
  }));
  const { host } = collectingHost([{ definition: a }]);
  const t = trial('t1');
  await host.chunk(
    's',
    t,
    seriesOf([
      { step: 0, loss: 3 },
      { step: 1, loss: 2 },
    ]),
  );
  await host.chunk(
    's',
    t,
    seriesOf([
      { step: 1, loss: 2 },
      { step: 5, loss: 1 },
    ]),
  );
  await host.chunk('s', t, seriesOf([{ step: 0, loss: 3 }]));
  await host.trialEnd('s', t, okOutcome());
  await host.trialEnd('s', t, okOutcome());
  await host.chunk('s', t, seriesOf([{ step: 9, loss: 0 }]));
  assert.deepEqual(got, [{ id: 't1', steps: [0, 1, 5], loss: [3, 2, 1], chunks: 2 }]);
});

test('events fired without awaiting are handled in order', async () => {
  const order: string[] = [];
  const a = quiet('a', () => ({
    onChunk: async (_t, c) => {
      await new Promise((r) => setTimeout(r, c.steps[0] === 0 ? 20 : 0));
      order.push(`chunk ${c.steps[0]}`);
    },
    onTrialEnd: (_t, _o, s: TelemetryColumns) => void order.push(`end ${s.steps.join(',')}`),
  }));
  const { host } = collectingHost([{ definition: a }]);
  const t = trial('t1');
  await Promise.all([
    host.chunk('s', t, seriesOf([{ step: 0 }])),
    host.chunk('s', t, seriesOf([{ step: 4 }])),
    host.trialEnd('s', t, okOutcome()),
  ]);
  assert.deepEqual(order, ['chunk 0', 'chunk 4', 'end 0,4']);
});

test('per-sweep state: perSweep analyzers get the trial list, all are closed and released at sweep end', async () => {
  const events: string[] = [];
  let signal: AbortSignal | undefined;
  let lateEmit: (() => void) | undefined;
  const per = quiet(
    'per',
    (ctx) => {
      events.push(`setup ${ctx.sweepId}`);
      signal = ctx.signal;
      lateEmit = () => ctx.emit({ kind: 'late', message: 'too late' });
      return {
        onSweepEnd: (_s, trials: readonly SweepTrial[]) => {
          events.push(`per end ${trials.map((t) => t.trial.id).join(',')}`);
          ctx.emit({ kind: 'sweep-done', evidence: { trials: trials.length }, message: 'done' });
        },
        close: () => void events.push('per close'),
      };
    },
    true,
  );
  const plain = quiet('plain', () => ({
    onSweepEnd: (_s, trials) => void events.push(`plain end ${trials.length}`),
  }));
  const { host, findings } = collectingHost([{ definition: per }, { definition: plain }]);
  await host.trialEnd('s', trial('t1'), okOutcome());
  await host.trialEnd('s', trial('t2'), okOutcome({ status: 'diverged' }));
  assert.equal(signal?.aborted, false);
  await host.sweepEnd('s');
  assert.deepEqual(events, ['setup s', 'per end t1,t2', 'plain end 0', 'per close']);
  assert.deepEqual(host.openSweeps, []);
  assert.equal(signal?.aborted, true);
  lateEmit!();
  assert.deepEqual(
    findings.map((f) => f.kind),
    ['sweep-done'],
  );
  await host.sweepEnd('s');
  await host.trialEnd('s', trial('t3'), okOutcome());
  await host.sweepEnd('s');
  assert.deepEqual(
    events.slice(4),
    ['setup s', 'per end t3', 'plain end 0', 'per close'],
    'a later event opens fresh state',
  );
});

test('findings are completed by the host with a deterministic id', async () => {
  const a = defineAnalyzer({
    name: 'a',
    version: '2.1.0',
    description: 'x',
    options: z.object({}).strict(),
    setup: (ctx) => ({
      onTrialEnd: (t: CompiledTrial) => {
        ctx.emit({
          kind: 'k',
          trialId: t.id,
          evidence: { x: 1, bad: NaN, inf: Infinity },
          message: 'm',
          discriminator: 'feature:1',
          relatedTrials: ['u'],
        });
        ctx.emit({ kind: 'k', trialId: t.id, message: 'm2', discriminator: 'feature:2' });
      },
    }),
  });
  const { host, findings } = collectingHost([{ definition: a }]);
  await host.trialEnd('s', trial('t1'), okOutcome());
  assert.deepEqual(findings[0], {
    analyzer: 'a',
    analyzerVersion: '2.1.0',
    sweepId: 's',
    trialId: 't1',
    kind: 'k',
    severity: 'info',
    evidence: { x: 1 },
    message: 'm',
    relatedTrials: ['u'],
    findingId: findingId({
      analyzer: 'a',
      sweepId: 's',
      trialId: 't1',
      kind: 'k',
      discriminator: 'feature:1',
    }),
    timeMs: 1234,
  });
  assert.equal(
    findings[0]!.findingId,
    'defe5884f9a79886effbb5a0237a255e',
    'SHA-256 of the NUL-joined key (computed independently); ids must not change across versions',
  );
  assert.notEqual(findings[0]!.findingId, findings[1]!.findingId);
  assert.equal(
    findingId({ analyzer: 'a', sweepId: 's', trialId: 't1', kind: 'k' }),
    findingId({ analyzer: 'a', sweepId: 's', trialId: 't1', kind: 'k', discriminator: '' }),
  );
  assert.notEqual(
    findingId({ analyzer: 'a', sweepId: 's', trialId: 't1', kind: 'k' }),
    findingId({ analyzer: 'a', sweepId: 's', trialId: 't', kind: '1k' }),
  );
});

test('a failing onFinding is logged, not blamed on the analyzer; close() ends everything and refuses further events', async () => {
  let closed = 0;
  const a = quiet('a', (ctx) => ({
    onTrialEnd: (t) => ctx.emit({ kind: 'k', trialId: t.id, message: 'm' }),
    close: () => void closed++,
  }));
  const lines: string[] = [];
  const { createLogger } = await import('@dynlab/core');
  const host = new AnalyzerHost({
    analyzers: [{ definition: a }],
    onFinding: () => Promise.reject(new Error('publish failed')),
    logger: createLogger({ level: 'error', write: (l) => lines.push(l) }),
  });
  await host.trialEnd('s1', trial('t1'), okOutcome());
  await host.trialEnd('s2', trial('t1'), okOutcome());
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /onFinding failed; finding lost/);
  await host.close();
  assert.equal(closed, 2);
  await assert.rejects(
    host.chunk('s1', trial('t2'), seriesOf([{ step: 0 }])),
    (err: unknown) => err instanceof DynlabError && err.code === ErrorCode.Cancelled,
  );
  await host.close();
});
