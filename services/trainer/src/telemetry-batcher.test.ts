import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, v1 } from '@dynlab/proto';
import { TelemetryBatcher, type EncodedBatch } from './telemetry-batcher';

const chunk = (trial: number, k: number, last = false, points = 2): v1.ITelemetryChunk => ({
  sweepId: 'sw',
  trialId: `sw-t${String(trial).padStart(6, '0')}`,
  chunkIndex: k,
  last,
  jobId: 'sw-j00000',
  steps: Array.from({ length: points }, (_, i) => k * points + i),
  loss: Array.from({ length: points }, () => 0.5 + trial),
});

const contents = (batches: EncodedBatch[]) =>
  batches.map((b) => {
    const m = decode(v1.TelemetryBatch, b.bytes);
    return {
      msgId: b.msgId,
      k: m.chunkIndex,
      part: m.part,
      trials: m.chunks.map((c) => `${(c.trialId ?? '').slice(-1)}:${c.chunkIndex}`),
    };
  });

test('chunk k of every trial goes out in one batch once the last trial has sent it, in trial order', () => {
  const b = new TelemetryBatcher('sw', 'sw-j00000', 3, 1 << 20);
  assert.deepEqual(b.add(2, chunk(2, 0)), []);
  assert.deepEqual(b.add(0, chunk(0, 0)), []);
  assert.deepEqual(b.add(0, chunk(0, 1, true)), [], 'chunk 1 waits for trials 1 and 2');
  assert.deepEqual(contents(b.add(1, chunk(1, 0))), [
    { msgId: 'sw-j00000:c0:p0', k: 0, part: 0, trials: ['0:0', '1:0', '2:0'] },
  ]);
  assert.deepEqual(b.add(2, chunk(2, 1, true)), []);
  assert.deepEqual(contents(b.add(1, chunk(1, 1, true))), [
    { msgId: 'sw-j00000:c1:p0', k: 1, part: 0, trials: ['0:1', '1:1', '2:1'] },
  ]);
  assert.deepEqual(b.flush(), [], 'nothing left');
});

test('a trial that ended early (diverged) is not waited for in later batches', () => {
  const b = new TelemetryBatcher('sw', 'sw-j00000', 2, 1 << 20);
  assert.deepEqual(b.add(1, chunk(1, 0)), []);
  assert.deepEqual(b.add(1, chunk(1, 1)), []);
  // Trial 0 ends at chunk 0: it completes batch 0 and releases batch 1, which it is not in.
  assert.deepEqual(contents(b.add(0, chunk(0, 0, true))), [
    { msgId: 'sw-j00000:c0:p0', k: 0, part: 0, trials: ['0:0', '1:0'] },
    { msgId: 'sw-j00000:c1:p0', k: 1, part: 0, trials: ['1:1'] },
  ]);
  assert.deepEqual(contents(b.add(1, chunk(1, 2, true))), [
    { msgId: 'sw-j00000:c2:p0', k: 2, part: 0, trials: ['1:2'] },
  ]);
});

test('a batch over the size limit is split, the same way whatever order the chunks came in', () => {
  const run = (order: number[]) => {
    const b = new TelemetryBatcher('sw', 'sw-j00000', 6, 2500);
    return order.flatMap((t) => b.add(t, chunk(t, 0, true, 100)));
  };
  const a = run([0, 1, 2, 3, 4, 5]);
  const z = run([5, 3, 1, 0, 4, 2]);
  assert.ok(a.length > 1, `split into ${a.length} parts`);
  assert.ok(a.every((p) => p.bytes.length <= 2500));
  assert.deepEqual(
    contents(a).flatMap((p) => p.trials),
    ['0:0', '1:0', '2:0', '3:0', '4:0', '5:0'],
  );
  assert.deepEqual(
    z.map((p) => [p.msgId, Buffer.from(p.bytes).toString('hex')]),
    a.map((p) => [p.msgId, Buffer.from(p.bytes).toString('hex')]),
  );
});

test('flush hands over what a job left incomplete', () => {
  const b = new TelemetryBatcher('sw', 'sw-j00000', 2, 1 << 20);
  b.add(0, chunk(0, 0));
  assert.deepEqual(contents(b.flush()), [
    { msgId: 'sw-j00000:c0:p0', k: 0, part: 0, trials: ['0:0'] },
  ]);
});
