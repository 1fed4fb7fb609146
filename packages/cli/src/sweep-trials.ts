/**
 * A finished (or stopped) sweep read back from its streams, one trial at a time: the trial's result
 * and its telemetry chunks in index order. Results are read first (a few scalars per trial), then
 * the sweep's telemetry is streamed once and each trial is handed out as soon as its last chunk is
 * in, so memory holds only the trials whose chunks are still arriving, never the whole sweep.
 * A trial's result is its last run's (a resume's result supersedes a cancelled one), and its series
 * is the chunks of the job that produced that result (a cancelled and resumed trial also has a
 * partial series from its first job, which is skipped). A chunk index seen
 * twice (a job redelivered after a trainer died) is dropped. A read that
 * comes back short is read again: results until there are as many as `expectedResults`, and the
 * telemetry of a trial still incomplete after the sweep's stream by its job's subject; a trial whose
 * stream really lost chunks is handed out at the end with what it has, in order up to the first gap.
 */
import type { DynlabClient } from '@dynlab/client';
import { v1 } from '@dynlab/proto';

/** One trial as read back: its result and its chunks (index order, no duplicates, no gaps). */
export interface SweepTrial {
  result: v1.TrialResult;
  chunks: v1.TelemetryChunk[];
  /** Every chunk the result counts is there. */
  complete: boolean;
}

/** The contiguous run of chunks from index 0. */
function inOrder(buffered: Map<number, v1.TelemetryChunk>): v1.TelemetryChunk[] {
  const out: v1.TelemetryChunk[] = [];
  for (let i = 0; buffered.has(i); i++) out.push(buffered.get(i)!);
  return out;
}

/** Every trial of the sweep that has a result, each once (see the module header). */
export async function* readSweepTrials(
  client: DynlabClient,
  sweepId: string,
  opts: { expectedResults?: number } = {},
): AsyncGenerator<SweepTrial> {
  const results = new Map<string, v1.TrialResult>();
  for (
    let attempt = 0;
    attempt < 3 && (attempt === 0 || results.size < (opts.expectedResults ?? 0));
    attempt++
  )
    for await (const r of client.results(sweepId)) {
      const prev = results.get(r.trialId);
      // A later run (a resume) supersedes a cancelled result; a redelivery's copy changes nothing.
      if (
        !prev ||
        (prev.status === v1.TrialStatus.TRIAL_STATUS_CANCELLED && prev.jobId !== r.jobId)
      )
        results.set(r.trialId, r);
    }
  const buffers = new Map<string, Map<number, v1.TelemetryChunk>>();
  for await (const c of client.telemetry(sweepId)) {
    const result = results.get(c.trialId);
    if (!result) continue; // no outcome (a cancelled sweep) or already handed out
    if (c.jobId !== result.jobId) continue; // an earlier, cancelled run of the trial
    let b = buffers.get(c.trialId);
    if (!b) buffers.set(c.trialId, (b = new Map()));
    if (!b.has(c.chunkIndex)) b.set(c.chunkIndex, c);
    if (b.size >= result.telemetryChunks) {
      const chunks = inOrder(b);
      if (chunks.length < result.telemetryChunks) continue;
      buffers.delete(c.trialId);
      results.delete(c.trialId);
      yield { result, chunks, complete: true };
    }
  }
  for (const [trialId, result] of results) {
    const b = buffers.get(trialId) ?? new Map<number, v1.TelemetryChunk>();
    buffers.delete(trialId);
    if (inOrder(b).length < result.telemetryChunks)
      for await (const c of client.telemetry(sweepId, { trialId, jobId: result.jobId }))
        if (!b.has(c.chunkIndex)) b.set(c.chunkIndex, c);
    const chunks = inOrder(b);
    yield { result, chunks, complete: chunks.length >= result.telemetryChunks };
  }
}
