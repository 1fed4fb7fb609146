import { test } from 'node:test';
import assert from 'node:assert/strict';
import { v1 } from './index';
import { decode } from './codec';
import { encodeTelemetryBatch, telemetryChunkSize } from './telemetry-encoder';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A chunk with every field present or absent at random, with awkward values among the rest. */
function randomChunk(r: () => number, k: number): v1.ITelemetryChunk {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const floats = () =>
    Array.from({ length: pick([0, 1, 3, 40]) }, () =>
      pick([0, -0, 1.5, NaN, Infinity, -Infinity, 3.4e38, 1e-45, r() * 2 - 1, r() * 1e6]),
    );
  const c: Record<string, unknown> = {};
  const maybe = (key: string, v: () => unknown) => {
    if (r() < 0.7) c[key] = v();
  };
  maybe('sweepId', () => pick(['sw-1', '', 'swé-ü-漢']));
  maybe('trialId', () => `sw-1-t${String(k).padStart(6, '0')}`);
  maybe('chunkIndex', () => pick([0, 1, 127, 128, 16384, 2 ** 32 - 1]));
  maybe('last', () => r() < 0.5);
  maybe('steps', () =>
    Array.from({ length: pick([0, 1, 12]) }, () =>
      pick([0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1]),
    ),
  );
  for (const key of [
    'loss',
    'error',
    'gradShare',
    'probeOutputs',
    'paramNorms',
    'deadUnits',
    'trainOutputs',
  ])
    maybe(key, floats);
  for (const key of ['features', 'probes', 'layers', 'trainPoints'])
    maybe(key, () => pick([0, 2, 100, 1000]));
  maybe('jobId', () => pick(['sw-1-j00001', 'sw-1-r2-j00017']));
  return c as v1.ITelemetryChunk;
}

test('a telemetry batch encodes to exactly the bytes protobufjs gives, and decodes back', () => {
  const r = rng(7);
  for (let n = 0; n < 300; n++) {
    const chunks = Array.from({ length: Math.floor(r() * 6) }, (_, k) => randomChunk(r, k));
    const batch: v1.ITelemetryBatch = { chunks };
    if (r() < 0.8) batch.sweepId = 'sw-1';
    if (r() < 0.8) batch.jobId = 'sw-1-j00001';
    if (r() < 0.8) batch.chunkIndex = Math.floor(r() * 300);
    if (r() < 0.5) batch.part = Math.floor(r() * 3);
    const expected = Buffer.from(v1.TelemetryBatch.encode(batch).finish());
    const got = encodeTelemetryBatch(batch);
    assert.equal(Buffer.from(got).toString('hex'), expected.toString('hex'), `batch ${n}`);
    assert.deepEqual(decode(v1.TelemetryBatch, got), decode(v1.TelemetryBatch, expected));
    for (const c of chunks)
      assert.equal(telemetryChunkSize(c), v1.TelemetryChunk.encode(c).finish().length);
  }
});

test('the encoded bytes own their buffer, so they can be transferred to another thread', () => {
  const bytes = encodeTelemetryBatch({ sweepId: 's', chunks: [{ trialId: 't', loss: [1, 2] }] });
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.byteLength, bytes.buffer.byteLength);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
  assert.equal(bytes.byteLength, 0, 'detached by the transfer');
  port1.close();
  port2.close();
});
