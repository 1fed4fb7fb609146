/**
 * The "nothing lost, nothing doubled" check every fault test ends with. It reads a finished
 * sweep back from where a user would read it (the results and telemetry streams through
 * DynlabClient, the sweep's recorded outcomes in KV) and lists every way it falls short of "each
 * trial has exactly one result, one recorded outcome and one complete telemetry series", so a
 * failing test names the trials and what is wrong with them instead of a bare count. (A trial
 * cancelled and then resumed has one result per run; the last one, from the resume's job, counts.)
 */
import { TypedKv, buckets, outcomeShardSize, sweepKeys, type Bus } from '@dynlab/bus';
import type { DynlabClient } from '@dynlab/client';
import { v1 } from '@dynlab/proto';
import { trialId } from '@dynlab/spec';

/** What `auditSweep` found. Every list is empty for a sweep that lost and doubled nothing. */
export interface SweepAudit {
  /** Result messages in the stream (duplicates included). */
  resultMessages: number;
  /** Trials with at least one result. */
  trialsWithResult: number;
  /** Trials with a recorded outcome in KV. */
  recordedOutcomes: number;
  /** Final status of each trial, counted. */
  statuses: Record<string, number>;
  /** Every problem found, one line each (trial id first). */
  problems: string[];
}

/** Options of `auditSweep`. */
export interface AuditOptions {
  /** Check telemetry of trials that ended ok or diverged. @default true */
  telemetry?: boolean;
}

const statusName = (s: v1.TrialStatus) =>
  (v1.TrialStatus[s] ?? String(s)).replace('TRIAL_STATUS_', '').toLowerCase();

function sameChunk(a: v1.TelemetryChunk, b: v1.TelemetryChunk): boolean {
  const bytes = (c: v1.TelemetryChunk) => Buffer.from(v1.TelemetryChunk.encode(c).finish());
  return bytes(a).equals(bytes(b));
}

/** Reads a sweep back and lists what is missing or doubled; see the module header. */
export async function auditSweep(
  client: DynlabClient,
  sweepId: string,
  total: number,
  o: AuditOptions = {},
): Promise<SweepAudit> {
  const problems: string[] = [];
  const expected = new Set(Array.from({ length: total }, (_, i) => trialId(sweepId, i)));

  const results = new Map<string, v1.TrialResult>();
  let resultMessages = 0;
  for await (const r of client.results(sweepId)) {
    resultMessages++;
    if (!expected.has(r.trialId))
      problems.push(`${r.trialId}: a result for a trial that is not in the sweep`);
    const prev = results.get(r.trialId);
    if (!prev) results.set(r.trialId, r);
    else if (prev.jobId !== r.jobId) {
      // A later job (a resume) supersedes, but only a trial that was cancelled is run again.
      if (prev.status !== v1.TrialStatus.TRIAL_STATUS_CANCELLED)
        problems.push(
          `${r.trialId}: run again by ${r.jobId} after it ended ${statusName(prev.status)} in ${prev.jobId}`,
        );
      results.set(r.trialId, r);
    } else if (
      prev.status !== r.status ||
      prev.finalLoss !== r.finalLoss ||
      prev.telemetryChunks !== r.telemetryChunks
    )
      problems.push(
        `${r.trialId}: two different results (${statusName(prev.status)} ${prev.finalLoss}, ${statusName(r.status)} ${r.finalLoss})`,
      );
  }
  for (const id of expected) if (!results.has(id)) problems.push(`${id}: no result`);

  const recorded = await recordedOutcomesOf(client.bus, sweepId, total);
  for (const id of expected) {
    const kept = recorded.get(id);
    const r = results.get(id);
    if (kept === undefined) problems.push(`${id}: no recorded outcome`);
    else if (r && kept !== r.status)
      problems.push(
        `${id}: recorded as ${statusName(kept)}, its result says ${statusName(r.status)}`,
      );
  }

  const statuses: Record<string, number> = {};
  for (const r of results.values())
    statuses[statusName(r.status)] = (statuses[statusName(r.status)] ?? 0) + 1;

  if (o.telemetry ?? true) {
    const chunks = new Map<string, Map<number, v1.TelemetryChunk>>();
    for await (const c of client.telemetry(sweepId)) {
      // A trial's series is the chunks of its result's job (keyed `trial/job`).
      const key = `${c.trialId}/${c.jobId}`;
      const byIndex = chunks.get(key) ?? new Map<number, v1.TelemetryChunk>();
      chunks.set(key, byIndex);
      const prev = byIndex.get(c.chunkIndex);
      if (prev && !sameChunk(prev, c))
        problems.push(`${c.trialId}: chunk ${c.chunkIndex} sent twice with different contents`);
      if (!prev) byIndex.set(c.chunkIndex, c);
    }
    for (const [id, r] of results) {
      if (
        r.status !== v1.TrialStatus.TRIAL_STATUS_OK &&
        r.status !== v1.TrialStatus.TRIAL_STATUS_DIVERGED
      )
        continue;
      const byIndex = chunks.get(`${id}/${r.jobId}`) ?? new Map<number, v1.TelemetryChunk>();
      const n = r.telemetryChunks;
      if (n === 0) problems.push(`${id}: the result counts no telemetry chunk`);
      let points = 0;
      for (let k = 0; k < n; k++) {
        const c = byIndex.get(k);
        if (!c) {
          problems.push(`${id}: chunk ${k} of ${n} missing`);
          continue;
        }
        points += c.steps.length;
        if (c.last !== (k === n - 1)) problems.push(`${id}: chunk ${k} of ${n} has last=${c.last}`);
      }
      for (const k of byIndex.keys())
        if (k >= n) problems.push(`${id}: chunk ${k} beyond the ${n} the result counts`);
      if (points !== r.telemetryPoints && problems.length < 1000)
        problems.push(
          `${id}: ${points} recorded points in the chunks, the result says ${r.telemetryPoints}`,
        );
    }
  }
  return {
    resultMessages,
    trialsWithResult: results.size,
    recordedOutcomes: recorded.size,
    statuses,
    problems,
  };
}

/** The recorded status of each trial of a sweep that has one, read from its outcome shards in KV. */
export async function recordedOutcomesOf(
  bus: Bus,
  sweepId: string,
  total: number,
): Promise<Map<string, v1.TrialStatus>> {
  const kv = await TypedKv.open(bus, buckets.sweeps, v1.OutcomeShard);
  const out = new Map<string, v1.TrialStatus>();
  for (let shard = 0; shard * outcomeShardSize < total; shard++) {
    const statuses = (await kv.get(sweepKeys.outcomes(sweepId, shard)))?.value.statuses;
    statuses?.forEach((s, i) => {
      if (s !== 0) out.set(trialId(sweepId, shard * outcomeShardSize + i), s);
    });
  }
  return out;
}
