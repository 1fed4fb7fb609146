/** The progress line: counts, rate, ETA and findings from sweep statuses; redrawn on a terminal, plain lines otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { v1 } from '@dynlab/proto';
import type { SweepStatus } from '@dynlab/client';
import { formatDuration, ProgressDisplay } from './progress-display';
import { statusLine, statusTable } from './sweep-status-text';

function status(
  ok: number,
  state = v1.SweepState.SWEEP_STATE_RUNNING,
  extra: Partial<v1.ISweepCounts> = {},
  findings = 0,
): SweepStatus {
  return v1.SweepStatus.create({
    sweepId: 'sw-1',
    name: 'demo',
    state,
    counts: v1.SweepCounts.create({ total: 100, ok, ...extra }),
    findings,
    createdMs: 1_700_000_000_000,
  });
}

/** A fake stream that records what is written. */
function sink(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY, write: (x: string) => ((s.text += x), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

void test('the line: done/total, percent, trials/s, ETA, failures (failed + diverged), findings, elapsed', () => {
  let now = 0;
  const d = new ProgressDisplay({ stream: sink(false), now: () => now });
  now = 10_000;
  assert.equal(
    d.line(status(20, undefined, { failed: 3, diverged: 2 }, 7)),
    'sw-1: 25/100 trials (25%)  2.5 trials/s  ETA 30s  5 failed  7 findings  [10s]',
  );
  now = 100_000;
  assert.equal(
    d.line(status(100, v1.SweepState.SWEEP_STATE_COMPLETE, {}, 40)),
    'sw-1: 100/100 trials (100%)  1.0 trials/s  complete  0 failed  40 findings  [1m40s]',
  );
  now = 1;
  assert.equal(
    d.line(status(0)),
    'sw-1: 0/100 trials (0%)  0.0 trials/s  ETA ?  0 failed  0 findings  [0s]',
  );
});

void test('not a terminal: a plain line at most every interval, and the final one; a terminal: one redrawn line', () => {
  let now = 0;
  const plain = sink(false);
  const d = new ProgressDisplay({ stream: plain, now: () => now, intervalMs: 5000 });
  for (let t = 0; t <= 12_000; t += 1000) {
    now = t;
    d.update(status(t / 1000));
  }
  d.finish(status(100, v1.SweepState.SWEEP_STATE_COMPLETE));
  const lines = plain.text.trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => /(\d+)\/100/.exec(l)![1]),
    ['0', '5', '10', '100'],
  );
  assert.ok(
    !plain.text.includes('\r') && !plain.text.includes('\u001b'),
    'no carriage return or escape code',
  );

  const tty = sink(true);
  const t = new ProgressDisplay({ stream: tty, now: () => now });
  t.update(status(1));
  t.update(status(2));
  t.finish(status(100, v1.SweepState.SWEEP_STATE_COMPLETE));
  assert.equal(tty.text.split('\r\x1b[2K').length, 4, 'three redraws');
  assert.ok(tty.text.endsWith('complete  0 failed  0 findings  [0s]\n'));
});

void test('durations and status text', () => {
  assert.deepEqual([0, 59.4, 65, 3599, 3600, 7322, -1, Infinity].map(formatDuration), [
    '0s',
    '59s',
    '1m05s',
    '59m59s',
    '1h00m',
    '2h02m',
    '?',
    '?',
  ]);
  assert.equal(
    statusLine(status(97, v1.SweepState.SWEEP_STATE_CANCELLED, { cancelled: 3 }, 4)),
    'sw-1  demo  cancelled  100/100 trials (97 ok, 3 cancelled)  4 findings',
  );
  assert.equal(
    statusTable([status(5)]),
    [
      'SWEEP  NAME  STATE    TRIALS  FAILED  FINDINGS  CREATED (UTC)',
      'sw-1   demo  running  5/100   0       0         2023-11-14 22:13:20',
    ].join('\n'),
  );
  assert.equal(statusTable([]), 'no sweeps');
});
