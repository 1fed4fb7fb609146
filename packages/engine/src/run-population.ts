/**
 * The runner: record schedule, telemetry chunks, divergence, cancellation and outcomes, written
 * once over `PopulationProgram` so that every backend behaves the same. It advances the program in
 * slices of about a tenth of a second and yields to the event loop between slices, so that an
 * AbortSignal (or a cancel message in a worker) is seen promptly and heartbeats keep flowing even
 * when the next record step is hours away. Failures are per trial and never thrown: a diverging
 * trial ends `diverged`, an unexpected error ends the remaining trials `failed`; only a population
 * of mixed shapes (a caller's bug) throws.
 */
import { DynlabError, ErrorCode, ValidationError } from '@dynlab/core';
import {
  appendColumns,
  emptyColumns,
  shapeKey,
  type CompiledTrial,
  type TelemetryColumns,
  type TrialOutcome,
  type TrialStatus,
} from '@dynlab/spec';
import { activate, type BackendInfo, type BackendName } from './backend';
import { initParams } from './init-params';
import { minibatchSchedule, usesMinibatches } from './minibatch';
import type {
  PopulationMeasurement,
  PopulationProgram,
  PreparedData,
  ProgramHelpers,
} from './population-program';
import { prepareData } from './prepare-data';
import { recordSteps } from './record-steps';

/** Options of `runPopulation` and `runTrial`. */
export interface RunPopulationOptions {
  /** Backend to run on. @default 'auto' */
  backend?: BackendName | 'auto';
  /** Checked between steps; trials end 'cancelled' with what was recorded. */
  signal?: AbortSignal;
  /** Telemetry is emitted every chunkPoints recorded points and at the end. @default 25 */
  chunkPoints?: number;
  /** Receives each trial's telemetry in chunks; `last` is true once per trial, on its final chunk. */
  onTelemetry?: (trialIndex: number, chunk: TelemetryColumns, last: boolean) => void;
  /** Called at least every ~0.5 s of work (and at the end), for heartbeats. */
  onProgress?: (stepsDone: number, stepsTotal: number) => void;
}

/** What a population run gives back. */
export interface PopulationResult {
  backend: BackendInfo;
  outcomes: TrialOutcome[];
  /** Full series per trial, when onTelemetry was not given. */
  telemetry?: TelemetryColumns[];
}

/** Wall time of one advance slice: short enough for prompt cancellation, long enough to amortize the checks. */
const SLICE_S = 0.1;
const PROGRESS_S = 0.5;

/** Prepares each distinct dataset once; trials with equal data specs share the same object (the program folds them). */
export function prepareShared(trials: readonly CompiledTrial[]): PreparedData[] {
  const cache = new Map<string, PreparedData>();
  return trials.map((t) => {
    const key = JSON.stringify(t.data);
    let d = cache.get(key);
    if (!d) cache.set(key, (d = prepareData(t)));
    return d;
  });
}

/** The minibatch helper the programs use. */
export function programHelpers(trials: readonly CompiledTrial[]): ProgramHelpers {
  const schedules = trials.map((t) => (usesMinibatches(t) ? minibatchSchedule(t) : undefined));
  return {
    batchIndices(trial: number, step: number): Int32Array {
      const s = schedules[trial];
      if (!s) throw new DynlabError(ErrorCode.Internal, `trial ${trial} does not use minibatches`);
      return s.at(step);
    },
  };
}

function checkShapes(trials: readonly CompiledTrial[]): void {
  if (trials.length === 0)
    throw new ValidationError([{ path: 'trials', message: 'expected at least one trial' }], {
      what: 'population',
    });
  const key = shapeKey(trials[0]!);
  const issues = trials.flatMap((t, i) =>
    shapeKey(t) === key
      ? []
      : [
          {
            path: `trials[${i}]`,
            message: `its shape ${shapeKey(t)} differs from trials[0]'s ${key}`,
          },
        ],
  );
  if (issues.length > 0) throw new ValidationError(issues, { what: 'population' });
}

/** Per-trial bookkeeping of the runner. */
class TrialRecord {
  status: TrialStatus | undefined;
  stepsDone = 0;
  finalLoss = NaN;
  finalError = NaN;
  error?: { code: string; message: string };
  pending: TelemetryColumns;
  pendingRows = 0;
  full?: TelemetryColumns;

  constructor(
    private readonly widths: [number, number, number, number],
    keepFull: boolean,
  ) {
    this.pending = emptyColumns(...widths);
    if (keepFull) this.full = emptyColumns(...widths);
  }

  takeChunk(): TelemetryColumns {
    const c = this.pending;
    this.pending = emptyColumns(...this.widths);
    this.pendingRows = 0;
    return c;
  }
}

/**
 * Runs trials of one shape (`shapeKey` equal; a ValidationError otherwise) as one batched
 * population. Never throws for a diverging trial.
 */
export async function runPopulation(
  trials: CompiledTrial[],
  opts: RunPopulationOptions = {},
): Promise<PopulationResult> {
  checkShapes(trials);
  const { info, factory } = await activate(opts.backend ?? 'auto');
  const started = performance.now();
  const t0 = trials[0]!;
  const P = trials.length;
  const total = t0.steps;
  const schedule = recordSteps(t0);
  const scheduled = new Set(schedule);
  const checkpoints = scheduled.has(total) ? schedule : [...schedule, total];
  const q = t0.quantities;
  const D = t0.inputDim;
  const L = t0.widths.length - 1;
  const K = t0.record.probes.length;
  const n = t0.data.n;
  const chunkPoints = Math.max(1, opts.chunkPoints ?? 25);
  const records = trials.map(() => new TrialRecord([D, K, L, n], !opts.onTelemetry));
  const active = () => records.some((r) => r.status === undefined);

  const emit = (i: number, last: boolean) => {
    const r = records[i]!;
    if (r.pendingRows === 0 && !last) return;
    const chunk = r.takeChunk();
    opts.onTelemetry?.(i, chunk, last);
  };
  const finish = (
    i: number,
    status: TrialStatus,
    stepsDone: number,
    error?: { code: string; message: string },
  ) => {
    const r = records[i]!;
    if (r.status !== undefined) return;
    r.status = status;
    r.stepsDone = stepsDone;
    if (error) r.error = error;
    emit(i, true);
  };
  const append = (i: number, m: PopulationMeasurement) => {
    const r = records[i]!;
    for (const cols of r.full ? [r.pending, r.full] : [r.pending])
      appendRow(cols, m, i, { D, K, L, n, q, relu: t0.model.kind === 'relu' });
    r.pendingRows++;
    if (r.pendingRows >= chunkPoints) emit(i, false);
  };

  let program: PopulationProgram | undefined;
  let lastProgress = performance.now();
  const progress = (done: number, force = false) => {
    if (!opts.onProgress) return;
    const now = performance.now();
    if (force || now - lastProgress >= PROGRESS_S * 1000) {
      lastProgress = now;
      opts.onProgress(done, total);
    }
  };
  const endDiverged = (div: Int32Array) => {
    div.forEach((d, i) => {
      if (d >= 0) finish(i, 'diverged', d);
    });
  };

  try {
    program = factory(
      trials,
      prepareShared(trials),
      trials.map(initParams),
      programHelpers(trials),
    );
    let stepTime = 0.001;
    for (const cp of checkpoints) {
      while (program.stepsDone < cp && active()) {
        if (opts.signal?.aborted) break;
        const slice = Math.max(1, Math.min(cp - program.stepsDone, Math.floor(SLICE_S / stepTime)));
        const t = performance.now();
        await program.advance(slice);
        stepTime = Math.max(1e-6, (performance.now() - t) / 1000 / slice);
        endDiverged(await program.divergedAt());
        progress(program.stepsDone);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (opts.signal?.aborted || !active()) break;
      const m = await program.measure();
      endDiverged(m.divergedAt);
      for (let i = 0; i < P; i++) {
        const r = records[i]!;
        if (r.status !== undefined) continue;
        r.finalLoss = m.loss[i]!;
        r.finalError = m.error[i]!;
        if (scheduled.has(cp)) append(i, m);
      }
    }
    const done = program.stepsDone;
    records.forEach((r, i) => {
      if (r.status === undefined)
        finish(i, opts.signal?.aborted ? 'cancelled' : 'ok', opts.signal?.aborted ? done : total);
    });
    progress(done, true);
  } catch (err) {
    const e =
      err instanceof DynlabError
        ? err
        : new DynlabError(
            ErrorCode.Backend,
            `${info.name} backend failed: ${(err as Error)?.message ?? String(err)}`,
            { cause: err },
          );
    records.forEach((_, i) =>
      finish(i, 'failed', program?.stepsDone ?? 0, { code: e.code, message: e.message }),
    );
  } finally {
    program?.dispose();
  }
  const wallS = (performance.now() - started) / 1000;
  const outcomes: TrialOutcome[] = records.map((r) => ({
    status: r.status!,
    finalLoss: r.finalLoss,
    finalError: r.finalError,
    stepsDone: r.stepsDone,
    backend: info.name,
    wallS,
    ...(r.error ? { error: r.error } : {}),
  }));
  return opts.onTelemetry
    ? { backend: info, outcomes }
    : { backend: info, outcomes, telemetry: records.map((r) => r.full!) };
}

/** Appends trial i's row of a measurement to its columns (only the recorded quantities). */
function appendRow(
  c: TelemetryColumns,
  m: PopulationMeasurement,
  i: number,
  s: { D: number; K: number; L: number; n: number; q: ReadonlySet<string>; relu: boolean },
): void {
  const push = (to: number[], from: Float32Array, width: number) => {
    for (let k = i * width; k < (i + 1) * width; k++) to.push(from[k]!);
  };
  c.steps.push(m.step);
  if (s.q.has('loss')) c.loss.push(m.loss[i]!);
  if (s.q.has('error')) c.error.push(m.error[i]!);
  if (m.gradShare.length) push(c.gradShare, m.gradShare, s.D);
  if (m.probeOutputs.length) push(c.probeOutputs, m.probeOutputs, s.K);
  if (m.trainOutputs.length) push(c.trainOutputs, m.trainOutputs, s.n);
  if (m.paramNorms.length) push(c.paramNorms, m.paramNorms, s.L);
  if (m.deadUnits.length && s.relu) push(c.deadUnits, m.deadUnits, s.L - 1);
}

/** Runs one trial (a population of one); the full series is always returned (and streamed too when onTelemetry is given). */
export async function runTrial(
  trial: CompiledTrial,
  opts: RunPopulationOptions = {},
): Promise<{ outcome: TrialOutcome; telemetry: TelemetryColumns }> {
  const full = emptyColumns(
    trial.inputDim,
    trial.record.probes.length,
    trial.widths.length - 1,
    trial.data.n,
  );
  const r = await runPopulation([trial], {
    ...opts,
    onTelemetry: (i, chunk, last) => {
      appendColumns(full, chunk);
      opts.onTelemetry?.(i, chunk, last);
    },
  });
  return { outcome: r.outcomes[0]!, telemetry: full };
}
