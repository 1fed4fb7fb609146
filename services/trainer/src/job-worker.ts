/**
 * The trainer's worker-thread entry (`dist/job-worker.js`, piscina's `filename`): one job from its
 * message bytes to the bytes of its telemetry batches and results. Why the whole job runs here and
 * not just the engine: the trainer's main thread holds the NATS connection for every worker, and on
 * a busy trainer it was the bottleneck. Deriving the trials, collecting each trial's chunks into
 * batches and encoding them, and encoding the results now happen beside the computation that
 * produced them, a worker per core; the main thread only moves bytes (publish, ack).
 *
 * Task: `{ job: Uint8Array, backend, chunkPoints, maxPayload, port }` (transfer `port`). On `port`
 * the worker posts `{ kind: 'telemetry', batches }` as batches complete (their buffers transferred)
 * and `{ kind: 'progress', stepsDone, stepsTotal }` (network-steps of the job) at most every 0.5 s
 * (none for a shorter job); `{ kind: 'cancel' }` posted to it ends the trials `cancelled`.
 * Result: `{ results, summary }` (the JobResult message(s) to publish, split to fit `maxPayload`),
 * or `{ error: ErrorInfo }` when the job is invalid (a ValidationError, so the job is
 * dead-lettered) or the engine cannot start.
 */
import type { MessagePort } from 'node:worker_threads';
import { ValidationError, toDynlabError, type ErrorInfoLike } from '@dynlab/core';
import { runPopulation } from '@dynlab/engine';
import { decode, encode, v1 } from '@dynlab/proto';
import {
  jobResultToProto,
  jobTrialIndices,
  jobTrialsFromProto,
  type TrialOutcome,
} from '@dynlab/spec';
import { splitBySize } from './split-by-size';
import { TelemetryBatcher, type EncodedBatch } from './telemetry-batcher';

/** What the trainer's main thread sends. */
export interface JobTask {
  /** The Job message as it came from the stream. */
  job: Uint8Array;
  backend: string;
  chunkPoints: number;
  /** The server's max payload: batches and results are split to fit it. */
  maxPayload: number;
  /** The trainer instance, named in the results. */
  instance: string;
  port: MessagePort;
}

/** What the worker posts on the task's port. */
export type JobWorkerMessage =
  | { kind: 'telemetry'; batches: EncodedBatch[] }
  | { kind: 'progress'; stepsDone: number; stepsTotal: number };

/** An encoded message and its dedup id. */
export interface EncodedMessage {
  bytes: Uint8Array;
  msgId: string;
}

/** What the worker returns. */
export type JobTaskResult =
  | {
      results: EncodedMessage[];
      /** Trials by status, network-steps done, and the backend that ran them, for the metrics. */
      summary: {
        statuses: Partial<Record<TrialOutcome['status'], number>>;
        steps: number;
        backend: string;
        /** Telemetry messages posted on the port before this result. */
        telemetryMessages: number;
        /** Populations the job's trials ran as (one after another). */
        populations: number;
      };
    }
  | { error: ErrorInfoLike };

export const trialStatusCode: Record<TrialOutcome['status'], v1.TrialStatus> = {
  ok: v1.TrialStatus.TRIAL_STATUS_OK,
  diverged: v1.TrialStatus.TRIAL_STATUS_DIVERGED,
  failed: v1.TrialStatus.TRIAL_STATUS_FAILED,
  cancelled: v1.TrialStatus.TRIAL_STATUS_CANCELLED,
};

/**
 * A message's bytes in a buffer of their own, so that it can be transferred: a small protobufjs
 * result is a slice of Node's shared buffer pool, which must not be detached.
 */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * A job's results as one message (dedup id: the job id), or, for a job whose results pass the max
 * payload (long error texts), in parts split the same way every time (`<job>:p<k>`).
 */
export function encodeJobResult(result: v1.IJobResult, maxPayload: number): EncodedMessage[] {
  const whole = encode(v1.JobResult, result);
  const jobId = result.jobId ?? '';
  if (whole.length <= maxPayload) return [{ bytes: whole, msgId: jobId }];
  const n = result.trialIndices?.length ?? 0;
  const positions = Array.from({ length: n }, (_, i) => i);
  const errorOf = new Map((result.errors ?? []).map((e) => [e.position ?? 0, e.error]));
  const sizeOf = (i: number) => 40 + encode(v1.ErrorInfo, errorOf.get(i) ?? {}).length;
  return splitBySize(positions, sizeOf, maxPayload - 1024).map((part, k) => {
    const pick = <T>(col: ArrayLike<T> | null | undefined) => part.map((i) => col![i]!);
    const statuses = new Uint8Array(part.map((i) => result.statuses![i]!));
    return {
      msgId: `${jobId}:p${k}`,
      bytes: encode(v1.JobResult, {
        ...result,
        trialIndices: pick(result.trialIndices),
        statuses,
        finalLoss: pick(result.finalLoss),
        finalError: pick(result.finalError),
        stepsDone: pick(result.stepsDone),
        telemetryChunks: pick(result.telemetryChunks),
        telemetryPoints: pick(result.telemetryPoints),
        errors: part.flatMap((i, position) =>
          errorOf.has(i) ? [{ position, error: errorOf.get(i) }] : [],
        ),
      }),
    };
  });
}

/** Shortest time between two progress reports of a job. */
const progressMs = 500;

/** Runs one job in this thread; see the module header. */
export default async function runJob(task: JobTask): Promise<JobTaskResult> {
  const port = task.port;
  const ctl = new AbortController();
  const onMessage = (m: unknown) => {
    if ((m as { kind?: unknown } | null)?.kind === 'cancel') ctl.abort();
  };
  port.on('message', onMessage);
  const post = (m: JobWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let telemetryMessages = 0;
  const postBatches = (batches: EncodedBatch[]) => {
    if (batches.length === 0) return;
    telemetryMessages++;
    const own = batches.map((b) => ({ ...b, bytes: ownBytes(b.bytes) }));
    post(
      { kind: 'telemetry', batches: own },
      own.map((b) => b.bytes.buffer as ArrayBuffer),
    );
  };
  try {
    const job = decode(v1.Job, task.job);
    const trials = jobTrialsFromProto(job); // a malformed trial is a ValidationError: dead-lettered
    const indices = jobTrialIndices(job); // from the ranges, without parsing the ids built from them
    const foreign = indices.findIndex((i) => i < 0);
    if (foreign >= 0)
      throw new ValidationError(
        [
          {
            path: `job.trials[${foreign}].id`,
            message: `'${trials[foreign]!.id}' is not a trial id of a sweep`,
          },
        ],
        { what: 'job message' },
      );
    const sweepId = job.sweepId;
    const batcher = new TelemetryBatcher(sweepId, job.jobId, trials.length, task.maxPayload);
    const chunks = new Array<number>(trials.length).fill(0);
    const points = new Array<number>(trials.length).fill(0);
    // A job of tiny trials holds several populations (see the planner's `populationsPerJob`): they
    // run one after another, so the worker's memory is one population's, and the job's telemetry
    // batches span them (the job is short by construction).
    const size = job.population > 0 ? job.population : trials.length;
    // At most one progress report per 0.5 s of the job: each costs the trainer a message to the
    // server (the job is kept alive), and the engine also reports at the end of every population,
    // which for a job of short populations was a message per population for nothing.
    let lastProgress = performance.now();
    const progress = (stepsDone: number, stepsTotal: number) => {
      if (performance.now() - lastProgress < progressMs) return;
      lastProgress = performance.now();
      post({ kind: 'progress', stepsDone, stepsTotal });
    };
    const outcomes: TrialOutcome[] = [];
    let backend = '';
    let wallS = 0;
    for (let first = 0; first < trials.length; first += size) {
      const group = trials.slice(first, first + size);
      const stepsBefore = first * (trials[0]?.steps ?? 0);
      const r = await runPopulation(group, {
        backend: task.backend as never,
        chunkPoints: task.chunkPoints,
        signal: ctl.signal,
        onTelemetry: (g, chunk, last) => {
          const i = first + g;
          const chunkIndex = chunks[i]!++;
          points[i]! += chunk.steps.length;
          postBatches(
            batcher.add(i, {
              sweepId,
              trialId: trials[i]!.id,
              chunkIndex,
              last,
              jobId: job.jobId,
              ...chunk,
            }),
          );
        },
        // Network-steps of the whole job, so progress reads the same for one population or several.
        onProgress: (stepsDone, stepsTotal) =>
          progress(stepsBefore + stepsDone * group.length, stepsTotal * trials.length),
      });
      outcomes.push(...r.outcomes);
      backend ||= r.backend.name;
      wallS += r.outcomes[0]?.wallS ?? 0;
    }
    postBatches(batcher.flush()); // nothing normally: every trial's last chunk completed its batches
    const statuses: Partial<Record<TrialOutcome['status'], number>> = {};
    let steps = 0;
    for (const o of outcomes) {
      statuses[o.status] = (statuses[o.status] ?? 0) + 1;
      steps += o.stepsDone;
    }
    const result = jobResultToProto({
      sweepId,
      jobId: job.jobId,
      instance: task.instance,
      backend,
      wallS,
      trials: outcomes.map((o, i) => ({
        index: indices[i]!,
        status: trialStatusCode[o.status],
        finalLoss: o.finalLoss,
        finalError: o.finalError,
        stepsDone: o.stepsDone,
        telemetryChunks: chunks[i]!,
        telemetryPoints: points[i]!,
        error: o.error ? { code: o.error.code, message: o.error.message.slice(0, 2000) } : null,
      })),
    });
    return {
      // Cloned to the main thread, not transferred: each in a buffer of its own, so that the clone
      // of a small result does not copy the rest of Node's pooled buffer with it.
      results: encodeJobResult(result, task.maxPayload).map((m) => ({
        ...m,
        bytes: ownBytes(m.bytes),
      })),
      summary: {
        statuses,
        steps,
        backend,
        telemetryMessages,
        populations: Math.ceil(trials.length / size),
      },
    };
  } catch (err) {
    return { error: toDynlabError(err).toInfo() };
  } finally {
    port.off('message', onMessage);
  }
}
