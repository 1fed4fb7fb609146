/**
 * `exportSweep`: a sweep's results, telemetry and findings read back from the streams and written
 * by @dynlab/report's results writer (trials.csv/.parquet, telemetry.parquet, findings.jsonl,
 * report.html). Each trial is rebuilt from the sweep's stored spec (`trialAt`), so the export
 * needs nothing but the cluster's streams; trials arrive one at a time (see `readSweepTrials`)
 * and the writer streams them to disk, so a large sweep is exported in bounded memory.
 */
import { chunkColumns, resultOutcome } from '@dynlab/analyzer';
import { findingFromMessage, type DynlabClient } from '@dynlab/client';
import { streams, subjects } from '@dynlab/bus';
import type { Logger } from '@dynlab/core';
import { v1 } from '@dynlab/proto';
import { openResults, type ResultFiles } from '@dynlab/report';
import { appendColumns, emptyColumns, trialAt, trialIndex } from '@dynlab/spec';
import { readSweepTrials } from './sweep-trials';
import { theoryCurves } from './theory-curves';

/** What `exportSweep` wrote, with what it had to skip. */
export interface ExportSummary extends ResultFiles {
  /** Trials whose telemetry was incomplete in the stream (exported with what was there). */
  incompleteTelemetry: number;
  /** Findings by kind. */
  findingKinds: Record<string, number>;
}

/** Writes the sweep's results and report into `dir`; `onTrial` sees the running count. */
export async function exportSweep(
  client: DynlabClient,
  sweepId: string,
  dir: string,
  opts: { logger?: Logger; onTrial?: (n: number) => void } = {},
): Promise<ExportSummary> {
  const sweep = await client.storedSweep(sweepId);
  const { status } = await client.get(sweepId);
  const counts = status.counts;
  const out = await openResults(dir, {
    sweepId,
    sweepName: sweep.name,
    axes: sweep.axes.map((a) => a.path),
    logger: opts.logger,
  });
  let incomplete = 0;
  let n = 0;
  for await (const { result, chunks, complete } of readSweepTrials(client, sweepId, {
    expectedResults: (counts?.ok ?? 0) + (counts?.diverged ?? 0) + (counts?.failed ?? 0),
  })) {
    const trial = trialAt(sweep, sweepId, trialIndex(result.trialId));
    if (!trial) {
      opts.logger?.warn('a result names a trial that is not in the sweep; skipped', {
        trial: result.trialId,
      });
      continue;
    }
    const telemetry = emptyColumns(
      trial.inputDim,
      trial.record.probes.length,
      trial.widths.length - 1,
      trial.data.n,
    );
    for (const c of chunks) appendColumns(telemetry, chunkColumns(c));
    if (!complete) incomplete++;
    await out.addTrial(trial, resultOutcome(result), telemetry, {
      theory: theoryCurves(trial, telemetry.steps),
    });
    opts.onTrial?.(++n);
  }
  const kinds: Record<string, number> = {};
  const seen = new Set<string>();
  // The coordinator counts the sweep's findings: a read that comes back short is read again.
  const expected = (await client.get(sweepId)).status.findings ?? 0;
  for (let attempt = 0; attempt < 3 && (attempt === 0 || seen.size < expected); attempt++)
    for await (const m of client.read(streams.findings, subjects.findings(sweepId), (b) =>
      v1.Finding.decode(b),
    )) {
      if (seen.has(m.findingId)) continue;
      seen.add(m.findingId);
      kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
      await out.addFinding(findingFromMessage(m));
    }
  if (seen.size < expected)
    opts.logger?.warn('fewer findings in the stream than the coordinator counted', {
      read: seen.size,
      counted: expected,
    });
  return { ...(await out.finish()), incompleteTelemetry: incomplete, findingKinds: kinds };
}
