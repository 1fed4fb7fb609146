/**
 * The worker-thread entry: `dist/population-worker.js`, whose default export piscina (or any
 * worker_threads host) calls with one task per population. Each worker thread owns one tfjs
 * backend instance (tfjs-wasm does not thread inside Node, so one instance per thread is how a pool
 * uses every core) and keeps it between tasks.
 *
 * Task (structured-clone safe):
 * ```
 * { trials: TrialInput[]   // plain specs, e.g. trialToInput(compiled); compiled trials are accepted too
 *   groups?: TrialGroup[]  // or: trials sharing a body, each body checked once (see @dynlab/spec)
 *   backend?: 'auto' | 'wasm' | 'cpu' | 'native' | 'tensorflow'   // default 'auto' (env DYNLAB_BACKEND wins)
 *   chunkPoints?: number   // default 25
 *   port?: MessagePort }   // transfer it in the transferList
 * ```
 * On `port` the worker posts `{ kind: 'telemetry', trialIndex, chunk: TelemetryColumns, last }`
 * (last is true once per trial) and `{ kind: 'progress', stepsDone, stepsTotal }` about every 0.5 s;
 * posting `{ kind: 'cancel' }` to it ends the trials `cancelled` with what they recorded. The port is
 * left open (its creator owns it). Without a port the full series come back in the result.
 *
 * Result: `{ backend, outcomes, telemetry? }`, or `{ error: ErrorInfo }` when the task itself is
 * invalid (errors cross threads as data so the host can rebuild them by code with `fromErrorInfo`);
 * a diverging or failing trial is an outcome, never an error.
 */
import type { MessagePort } from 'node:worker_threads';
import { toDynlabError, type ErrorInfoLike } from '@dynlab/core';
import {
  compileGroups,
  compileTrial,
  trialToInput,
  type TrialGroup,
  type CompiledTrial,
  type TelemetryColumns,
  type TrialOutcome,
} from '@dynlab/spec';
import type { BackendInfo, BackendName } from './backend';
import { runPopulation } from './run-population';

/** What the host sends. */
export interface PopulationTask {
  trials?: unknown[];
  /** Instead of `trials`: trials that share bodies, each body checked once. */
  groups?: TrialGroup[];
  backend?: BackendName | 'auto';
  chunkPoints?: number;
  port?: MessagePort;
}

/** What the worker posts on the task's port. */
export type PopulationWorkerMessage =
  | { kind: 'telemetry'; trialIndex: number; chunk: TelemetryColumns; last: boolean }
  | { kind: 'progress'; stepsDone: number; stepsTotal: number };

/** What the worker returns. */
export type PopulationTaskResult =
  | { backend: BackendInfo; outcomes: TrialOutcome[]; telemetry?: TelemetryColumns[] }
  | { error: ErrorInfoLike };

function toTrial(t: unknown): CompiledTrial {
  if (t && typeof t === 'object' && 'inputDim' in t && 'widths' in t)
    return compileTrial(trialToInput(t as CompiledTrial));
  return compileTrial(t);
}

/** Runs one population task in this thread. */
export default async function runPopulationTask(
  task: PopulationTask,
): Promise<PopulationTaskResult> {
  const port = task.port;
  const ctl = new AbortController();
  const onMessage = (m: unknown) => {
    if ((m as { kind?: unknown } | null)?.kind === 'cancel') ctl.abort();
  };
  port?.on('message', onMessage);
  try {
    const trials = task.groups ? compileGroups(task.groups) : (task.trials ?? []).map(toTrial);
    const post = (m: PopulationWorkerMessage) => port!.postMessage(m);
    const r = await runPopulation(trials, {
      backend: task.backend ?? 'auto',
      chunkPoints: task.chunkPoints,
      signal: ctl.signal,
      onTelemetry: port
        ? (trialIndex, chunk, last) => post({ kind: 'telemetry', trialIndex, chunk, last })
        : undefined,
      onProgress: port
        ? (stepsDone, stepsTotal) => post({ kind: 'progress', stepsDone, stepsTotal })
        : undefined,
    });
    return r.telemetry
      ? { backend: r.backend, outcomes: r.outcomes, telemetry: r.telemetry }
      : { backend: r.backend, outcomes: r.outcomes };
  } catch (err) {
    return { error: toDynlabError(err).toInfo() };
  } finally {
    port?.off('message', onMessage);
  }
}
