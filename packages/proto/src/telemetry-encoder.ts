/**
 * A hand-written encoder for `TelemetryBatch`, the one message whose size grows with the work: a
 * job of 64 tiny trials sends about 6,400 floats per batch, and protobufjs's writer queues one
 * operation object per value (460 us a batch, a tenth of the job's own compute). This one
 * measures the message, allocates it once and writes every value in place. Its bytes are exactly
 * protobufjs's for the same message (field order, presence rules, packed encodings): the codec's
 * test compares them, so any decoder reads them as before.
 *
 * Presence as protobufjs's static code has it: a scalar is written when it is an own, non-null
 * property (also when it is 0, '' or false), a repeated field when it is non-empty.
 */
import type { dynlab } from '../generated/dynlab';

type Chunk = dynlab.v1.ITelemetryChunk;
type Batch = dynlab.v1.ITelemetryBatch;

const hasOwn = Object.prototype.hasOwnProperty;

function varintSize(v: number): number {
  v >>>= 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

type Floats = ArrayLike<number> | null | undefined;

/** UTF-8 length of a string; ids are ASCII, counted without a call into C++. */
function utf8Length(v: string): number {
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) return Buffer.byteLength(v);
  return v.length;
}

/** Size of a string field, or 0 when absent. */
function stringSize(m: object, key: string, tagBytes: number): number {
  const v = (m as Record<string, unknown>)[key];
  if (v == null || !hasOwn.call(m, key)) return 0;
  const len = utf8Length(v as string);
  return tagBytes + varintSize(len) + len;
}

function uintSize(m: object, key: string, tagBytes: number): number {
  const v = (m as Record<string, unknown>)[key];
  return v == null || !hasOwn.call(m, key) ? 0 : tagBytes + varintSize(v as number);
}

function floatsSize(a: Floats, tagBytes: number): number {
  return a?.length ? tagBytes + varintSize(4 * a.length) + 4 * a.length : 0;
}

function uintsLength(a: ArrayLike<number>): number {
  let len = 0;
  for (let i = 0; i < a.length; i++) len += varintSize(a[i]!);
  return len;
}

/** The encoded size of a chunk as a message of its own (what `splitBySize` weighs). */
export function telemetryChunkSize(c: Chunk): number {
  const steps = c.steps;
  const stepsLen = steps?.length ? uintsLength(steps) : -1;
  return (
    stringSize(c, 'sweepId', 1) +
    stringSize(c, 'trialId', 1) +
    uintSize(c, 'chunkIndex', 1) +
    (c.last != null && hasOwn.call(c, 'last') ? 2 : 0) +
    (stepsLen >= 0 ? 1 + varintSize(stepsLen) + stepsLen : 0) +
    floatsSize(c.loss, 1) +
    floatsSize(c.error, 1) +
    uintSize(c, 'features', 1) +
    floatsSize(c.gradShare, 1) +
    uintSize(c, 'probes', 1) +
    floatsSize(c.probeOutputs, 1) +
    uintSize(c, 'layers', 1) +
    floatsSize(c.paramNorms, 1) +
    floatsSize(c.deadUnits, 1) +
    uintSize(c, 'trainPoints', 1) +
    floatsSize(c.trainOutputs, 2) +
    stringSize(c, 'jobId', 2)
  );
}

function batchFieldsSize(b: Batch): number {
  return (
    stringSize(b, 'sweepId', 1) +
    stringSize(b, 'jobId', 1) +
    uintSize(b, 'chunkIndex', 1) +
    uintSize(b, 'part', 1)
  );
}

/** Writes into one buffer allocated at the message's exact size. */
class Out {
  readonly buf: Buffer;
  private readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    // Not from the shared pool: the bytes can be transferred to another thread as they are.
    this.buf = Buffer.allocUnsafeSlow(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, size);
  }
  varint(v: number): void {
    v >>>= 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  /** A field's tag: (field << 3) | wire type, as a varint. */
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  string(m: object, key: string, field: number): void {
    const v = (m as Record<string, unknown>)[key];
    if (v == null || !hasOwn.call(m, key)) return;
    this.tag(field, 2);
    const str = v as string;
    const len = utf8Length(str);
    this.varint(len);
    if (len === str.length) for (let i = 0; i < len; i++) this.buf[this.pos++] = str.charCodeAt(i);
    else this.pos += this.buf.write(str, this.pos, len, 'utf8');
  }
  uint(m: object, key: string, field: number): void {
    const v = (m as Record<string, unknown>)[key];
    if (v == null || !hasOwn.call(m, key)) return;
    this.tag(field, 0);
    this.varint(v as number);
  }
  floats(a: Floats, field: number): void {
    if (!a?.length) return;
    this.tag(field, 2);
    this.varint(4 * a.length);
    const view = this.view;
    let pos = this.pos;
    for (let i = 0; i < a.length; i++, pos += 4) view.setFloat32(pos, a[i]!, true);
    this.pos = pos;
  }
  uints(a: ArrayLike<number> | null | undefined, field: number): void {
    if (!a?.length) return;
    this.tag(field, 2);
    this.varint(uintsLength(a));
    for (let i = 0; i < a.length; i++) this.varint(a[i]!);
  }
  chunk(c: Chunk): void {
    this.string(c, 'sweepId', 1);
    this.string(c, 'trialId', 2);
    this.uint(c, 'chunkIndex', 3);
    if (c.last != null && hasOwn.call(c, 'last')) {
      this.tag(4, 0);
      this.varint(c.last ? 1 : 0);
    }
    this.uints(c.steps, 5);
    this.floats(c.loss, 6);
    this.floats(c.error, 7);
    this.uint(c, 'features', 8);
    this.floats(c.gradShare, 9);
    this.uint(c, 'probes', 10);
    this.floats(c.probeOutputs, 11);
    this.uint(c, 'layers', 12);
    this.floats(c.paramNorms, 13);
    this.floats(c.deadUnits, 14);
    this.uint(c, 'trainPoints', 15);
    this.floats(c.trainOutputs, 16);
    this.string(c, 'jobId', 17);
  }
}

/** A TelemetryBatch's bytes, exactly as `v1.TelemetryBatch.encode(batch).finish()` gives them. */
export function encodeTelemetryBatch(batch: Batch): Uint8Array {
  const chunks = batch.chunks ?? [];
  const sizes = chunks.map(telemetryChunkSize);
  let size = batchFieldsSize(batch);
  for (const s of sizes) size += 1 + varintSize(s) + s;
  const out = new Out(size);
  out.string(batch, 'sweepId', 1);
  out.string(batch, 'jobId', 2);
  out.uint(batch, 'chunkIndex', 3);
  out.uint(batch, 'part', 4);
  for (let i = 0; i < chunks.length; i++) {
    out.tag(5, 2);
    out.varint(sizes[i]!);
    out.chunk(chunks[i]!);
  }
  return new Uint8Array(out.buf.buffer, out.buf.byteOffset, size);
}
