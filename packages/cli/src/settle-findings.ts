/**
 * Waiting for the analyzer after a sweep ends: per-sweep analyzers (counterfactuals, convergence
 * slopes, phase maps) publish their findings only once the last trial is analysed, which can be a
 * moment after the coordinator marks the sweep complete. Settled means the analyzer's consumers
 * have nothing pending or unacknowledged (a handler acks only after its findings are published)
 * and the sweep's findings count has not moved for `stableMs`; never longer than `maxMs`.
 * Quiet consumers are not enough on their own: the analyzer re-reads a trial whose chunks it
 * missed only after a delay, and the trial ends then. So when the analyzer's metrics endpoint is
 * known (a local cluster that ran only this sweep), settled also needs every trial with an outcome
 * to have ended there (its `onTrialEnd` hook count) and the per-sweep hooks to have run
 * (`onSweepEnd`; a set of analyzers without any per-sweep hook is given a few seconds instead).
 */
import { consumers, streams } from '@dynlab/bus';
import type { DynlabClient } from '@dynlab/client';

/** Options of `settleFindings`. */
export interface SettleOptions {
  /** How long the count must stay still. @default 2000 */
  stableMs?: number;
  /** Give up (and go on) after this long. @default 30000 */
  maxMs?: number;
  /** Analyzer consumer group to watch. @default 'default' */
  group?: string;
  /** Stops waiting early. */
  signal?: AbortSignal;
  /** Sees the count at each poll. */
  onCount?: (findings: number) => void;
  /** The /metrics URL of the only analyzer, which has seen no other sweep (see the module header). */
  analyzerMetricsUrl?: string;
}

/** How often the analyzer's hooks ran, from its metrics: the largest count over its analyzers (undefined: not seen). */
export interface HookCounts {
  trialEnds?: number;
  sweepEnds?: number;
}

/** Reads the hook counts from an analyzer's /metrics; undefined when it cannot be read. */
export async function analyzerHookCounts(metricsUrl: string): Promise<HookCounts | undefined> {
  let text: string;
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) });
    text = await res.text();
  } catch {
    return undefined;
  }
  const counts: HookCounts = {};
  for (const m of text.matchAll(/^dynlab_analyzer_processing_seconds_count\{([^}]*)\} (\S+)$/gm)) {
    const hook = /hook="([^"]*)"/.exec(m[1]!)?.[1];
    const key =
      hook === 'onTrialEnd' ? 'trialEnds' : hook === 'onSweepEnd' ? 'sweepEnds' : undefined;
    if (key) counts[key] = Math.max(counts[key] ?? 0, Number(m[2]));
  }
  return counts;
}

/** Messages the analyzer group has not finished with (0 when its consumers do not exist). */
async function analyzerBacklog(client: DynlabClient, group: string): Promise<number> {
  let backlog = 0;
  for (const [stream, durable] of [
    [streams.telemetry, consumers.analyzerTelemetry(group)],
    [streams.results, consumers.analyzerResults(group)],
  ] as const) {
    try {
      const info = await client.bus.jsm.consumers.info(stream, durable);
      backlog += info.num_pending + info.num_ack_pending;
    } catch {
      /* no such consumer: an analyzer of another group, or none */
    }
  }
  return backlog;
}

/** Grace for analyzers without per-sweep hooks, once every trial has ended. */
const noSweepHookGraceMs = 5000;

/** Waits until the sweep's findings have settled (see the module header); returns the final count and whether it settled. */
export async function settleFindings(
  client: DynlabClient,
  sweepId: string,
  o: SettleOptions = {},
): Promise<{ findings: number; settled: boolean }> {
  const stableMs = o.stableMs ?? 2000;
  const deadline = Date.now() + (o.maxMs ?? 30_000);
  let last = -1;
  let since = Date.now();
  let allEnded: number | undefined;
  const started = Date.now();
  for (;;) {
    const [status, backlog, hooks] = await Promise.all([
      client.get(sweepId),
      analyzerBacklog(client, o.group ?? 'default'),
      o.analyzerMetricsUrl ? analyzerHookCounts(o.analyzerMetricsUrl) : undefined,
    ]);
    const count = status.status.findings ?? 0;
    o.onCount?.(count);
    const c = status.status.counts;
    const outcomes = (c?.ok ?? 0) + (c?.diverged ?? 0) + (c?.failed ?? 0);
    let analyzerDone = true;
    if (hooks) {
      // No onTrialEnd count at all: analyzers without that hook, or none has run yet; give them the grace.
      if (
        (hooks.trialEnds ?? (Date.now() - started >= noSweepHookGraceMs ? Infinity : -1)) >=
        outcomes
      )
        allEnded ??= Date.now();
      analyzerDone =
        allEnded !== undefined &&
        ((hooks.sweepEnds ?? 0) >= 1 || Date.now() - allEnded >= noSweepHookGraceMs);
    }
    if (count !== last || backlog > 0 || !analyzerDone) {
      last = count;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) return { findings: count, settled: true };
    if (Date.now() > deadline || o.signal?.aborted) return { findings: count, settled: false };
    await new Promise((r) => setTimeout(r, 250));
  }
}
