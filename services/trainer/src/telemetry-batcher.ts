/**
 * Groups a job's telemetry chunks into batches: chunk k of every trial of the job goes out in one
 * `TelemetryBatch` once each trial has either sent its chunk k or ended before it. A population
 * records at the same steps, so the batch for k fills up within one step of the engine; a job of
 * tiny trials sends one message instead of one per trial, and a long job still streams a batch per
 * chunk. What a batch holds depends only on the chunks (not on timing), and a batch over the size
 * limit is split the same way every time, so a redelivered job's batches have the same dedup ids.
 */
import { encodeTelemetryBatch, telemetryChunkSize, type v1 } from '@dynlab/proto';
import { splitBySize } from './split-by-size';

/** One message to publish: its bytes, the chunks in it, and its dedup id. */
export interface EncodedBatch {
  bytes: Uint8Array;
  chunks: number;
  msgId: string;
}

/** Room left in a message for the batch's own fields (ids and framing). */
const envelopeBytes = 1024;

export class TelemetryBatcher {
  private readonly rounds = new Map<number, v1.ITelemetryChunk[]>();
  /** Trials whose last chunk had index k, by k: trials that will not send chunks after k. */
  private readonly endedAt = new Map<number, number>();

  constructor(
    private readonly sweepId: string,
    private readonly jobId: string,
    private readonly trialCount: number,
    private readonly maxBytes: number,
  ) {}

  /** Adds a trial's chunk; returns the batches it completed (usually none or one). */
  add(trialIndex: number, chunk: v1.ITelemetryChunk): EncodedBatch[] {
    const k = chunk.chunkIndex ?? 0;
    const round = this.rounds.get(k) ?? [];
    round.push(chunk);
    this.rounds.set(k, round);
    // Only round k can be completed by this chunk, or, by a last chunk, the later rounds too
    // (this trial is no longer expected in them). Work per chunk does not grow with the job's
    // trials: a job of several populations holds hundreds.
    let candidates = [k];
    if (chunk.last) {
      this.endedAt.set(k, (this.endedAt.get(k) ?? 0) + 1);
      candidates = [...this.rounds.keys()].filter((i) => i >= k).sort((a, b) => a - b);
    }
    const out: EncodedBatch[] = [];
    for (const index of candidates)
      if (this.rounds.get(index)!.length === this.expected(index)) out.push(...this.take(index));
    return out;
  }

  /** Whatever is still held (a job that ended without every trial's last chunk). */
  flush(): EncodedBatch[] {
    return [...this.rounds.keys()].sort((a, b) => a - b).flatMap((k) => this.take(k));
  }

  /** Trials that will send chunk k: all but those whose last chunk came before k. */
  private expected(k: number): number {
    let ended = 0;
    for (const [last, n] of this.endedAt) if (last < k) ended += n;
    return this.trialCount - ended;
  }

  private take(k: number): EncodedBatch[] {
    const chunks = this.rounds.get(k) ?? [];
    this.rounds.delete(k);
    if (chunks.length === 0) return [];
    // In trial order, so that the split (and each part's bytes) never depends on arrival order.
    chunks.sort((a, b) => ((a.trialId ?? '') < (b.trialId ?? '') ? -1 : 1));
    const whole = this.encodeBatch(k, 0, chunks);
    if (whole.length <= this.maxBytes)
      return [{ bytes: whole, chunks: chunks.length, msgId: this.msgId(k, 0) }];
    const parts = splitBySize(chunks, telemetryChunkSize, this.maxBytes - envelopeBytes);
    return parts.map((part, p) => ({
      bytes: this.encodeBatch(k, p, part),
      chunks: part.length,
      msgId: this.msgId(k, p),
    }));
  }

  private encodeBatch(k: number, part: number, chunks: v1.ITelemetryChunk[]): Uint8Array {
    return encodeTelemetryBatch({
      sweepId: this.sweepId,
      jobId: this.jobId,
      chunkIndex: k,
      part,
      chunks,
    });
  }

  private msgId(k: number, part: number): string {
    return `${this.jobId}:c${k}:p${part}`;
  }
}
