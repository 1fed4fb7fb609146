import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { seededRng } from '@dynlab/core';
import { v1 } from './index';
import { decode } from './codec';
import { encodeTelemetryBatch, telemetryChunkSize } from './telemetry-encoder';

/**
 * TelemetryChunk's fields as the .proto file declares them (read with protobufjs's reflection),
 * so that a field added to the message and forgotten by the hand-written encoder fails this test.
 */
const protoDir = join(__dirname, '..', '..', '..', 'proto');
const protoRoot = new protobuf.Root();
// Imports are written from the proto directory (`dynlab/v1/common.proto`).
protoRoot.resolvePath = (_origin, target) => join(protoDir, target);
const chunkFields = protoRoot
  .loadSync('dynlab/v1/telemetry.proto')
  .lookupType('dynlab.v1.TelemetryChunk').fieldsArray;

/** A chunk with every field present or absent at random, with awkward values among the rest. */
function randomChunk(r: () => number, k: number): v1.ITelemetryChunk {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const ints = [0, 1, 2, 100, 127, 128, 300, 1000, 16384, 2 ** 31, 2 ** 32 - 1];
  const values: Record<string, () => unknown> = {
    string: () =>
      pick(['sw-1', '', 'swé-ü-漢', `sw-1-t${String(k).padStart(6, '0')}`, 'sw-1-r2-j00017']),
    uint32: () => pick(ints),
    bool: () => r() < 0.5,
    'repeated uint32': () => Array.from({ length: pick([0, 1, 12]) }, () => pick(ints)),
    'repeated float': () =>
      Array.from({ length: pick([0, 1, 3, 40]) }, () =>
        pick([0, -0, 1.5, NaN, Infinity, -Infinity, 3.4e38, 1e-45, r() * 2 - 1, r() * 1e6]),
      ),
  };
  const c: Record<string, unknown> = {};
  for (const f of chunkFields) {
    const kind = `${f.repeated ? 'repeated ' : ''}${f.type}`;
    const value = values[kind];
    if (!value) throw new Error(`TelemetryChunk.${f.name}: no test values for ${kind}`);
    if (r() < 0.7) c[f.name] = value();
  }
  return c as v1.ITelemetryChunk;
}

test('a telemetry batch encodes to exactly the bytes protobufjs gives, and decodes back', () => {
  const r = seededRng(7);
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
