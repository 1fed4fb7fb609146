/**
 * The work behind `dynlab simulate`: compile a trial or a small sweep, run each shape as one
 * population with the engine in this process, and write JSON lines as telemetry arrives (so a long
 * trial shows output early). The engine is loaded only once the spec is known to be valid. Rows are the columns of `TelemetryColumns` sliced per recorded step.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { BackendName } from '@dynlab/engine';
import {
  compileSweep,
  compileTrial,
  expandSweep,
  loadSpecFile,
  shapeKey,
  type CompiledTrial,
  type TelemetryColumns,
  type TrialOutcome,
} from '@dynlab/spec';
import { UsageError } from './exit-codes';

/** Most trials `simulate` runs (in-process, one population per shape); more is a job for `dynlab run`. */
export const simulateMaxTrials = 256;

const matrices = ['gradShare', 'probeOutputs', 'paramNorms', 'deadUnits', 'trainOutputs'] as const;

/** The JSON lines of one telemetry chunk, one per recorded step. */
export function telemetryLines(trialId: string, c: TelemetryColumns): string[] {
  const rows = c.steps.length;
  return c.steps.map((step, i) => {
    const row: Record<string, unknown> = { type: 'telemetry', trial: trialId, step };
    if (c.loss.length === rows) row.loss = c.loss[i];
    if (c.error.length === rows) row.error = c.error[i];
    for (const k of matrices) {
      const m = c[k];
      if (m.length === 0) continue;
      const w = m.length / rows;
      row[k] = m.slice(i * w, (i + 1) * w);
    }
    return JSON.stringify(row);
  });
}

/** The JSON line of a trial's outcome. */
export function resultLine(t: CompiledTrial, o: TrialOutcome): string {
  const params = Object.fromEntries(
    Object.entries(t.params).map(([k, v]) => [k, JSON.parse(v) as unknown]),
  );
  return JSON.stringify({ type: 'result', trial: t.id, params, ...o });
}

/** The trials a file describes: a trial spec (has `data`) or a sweep (has `base`). */
function trialsOf(spec: unknown, file: string): CompiledTrial[] {
  if (spec && typeof spec === 'object' && 'base' in spec) {
    const sweep = compileSweep(spec);
    if (sweep.trialCount > simulateMaxTrials)
      throw new UsageError(
        `${file}: the sweep has ${sweep.trialCount} trials; simulate runs at most ${simulateMaxTrials} in-process`,
        `run it on a cluster: dynlab run ${file}`,
      );
    return [...expandSweep(sweep, 'sim')];
  }
  const t = compileTrial(spec);
  return [{ ...t, id: t.id || 'trial' }];
}

/** Runs the file's trials and writes JSON lines to `out` (a file) or stdout. */
export async function simulate(
  file: string,
  o: { out?: string; backend?: BackendName | 'auto' } = {},
): Promise<number> {
  const trials = trialsOf(await loadSpecFile(file), file);
  // The engine (TensorFlow.js) loads only when there is something to run.
  const { runPopulation } = await import('@dynlab/engine');
  const fd = o.out ? openSync(o.out, 'w') : undefined;
  const write = (line: string) =>
    fd === undefined ? process.stdout.write(line + '\n') : writeSync(fd, line + '\n');
  try {
    const shapes = new Map<string, CompiledTrial[]>();
    for (const t of trials) shapes.set(shapeKey(t), [...(shapes.get(shapeKey(t)) ?? []), t]);
    for (const group of shapes.values()) {
      const r = await runPopulation(group, {
        backend: o.backend ?? 'auto',
        onTelemetry: (i, chunk) => telemetryLines(group[i]!.id, chunk).forEach(write),
      });
      r.outcomes.forEach((outcome, i) => write(resultLine(group[i]!, outcome)));
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (o.out)
    process.stderr.write(
      `${trials.length} trial${trials.length === 1 ? '' : 's'} simulated; JSON lines in ${o.out}\n`,
    );
  return 0;
}
