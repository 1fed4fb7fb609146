/**
 * The trainer. NATS stays in the main thread; trajectories run in a piscina pool of engine
 * workers (one per core for wasm/cpu/native, one for the tensorflow backend, which threads
 * internally and is not safe to load twice in a process). It holds at most one job per worker
 * plus `prefetch` more (default one each, queued in the pool so a worker never waits for a pull),
 * so the rest of the queue stays available to other trainers. While a job runs it
 * - streams the job's telemetry as it is recorded, chunk k of every trial in one batch on the
 *   job's subject (dedup id job:chunk:part, so a redelivered job does not duplicate them inside
 *   the window),
 * - tells JetStream the job is alive (`working()`) on each progress report,
 * - stops the job's trials (as `cancelled`) when a cancel notice for its sweep arrives;
 * then publishes the results of all its trials in one message (dedup id = job id) and acks the job. A job that throws
 * (a crashed or out-of-memory worker) is nak'd with a delay and dead-lettered after the last
 * delivery; a diverging trial is a normal `diverged` result.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import Piscina from 'piscina';
import {
  checkToken,
  consumers,
  startDurableConsumer,
  streams,
  subjects,
  TypedKv,
  buckets,
  type Bus,
  type RunningConsumer,
} from '@dynlab/bus';
import { DynlabError, ErrorCode, ValidationError, fromErrorInfo, type Logger } from '@dynlab/core';
import { initBackend, populationWorkerPath, type BackendName } from '@dynlab/engine';
import { createTrainerMetrics, type MetricsRegistry, type TrainerMetrics } from '@dynlab/metrics';
import { encode, v1 } from '@dynlab/proto';
import { splitBySize } from './split-by-size';
import { TelemetryBatcher, type EncodedBatch } from './telemetry-batcher';
import {
  jobTrialsFromProto,
  type CompiledTrial,
  trialToInput,
  type TelemetryColumns,
  type TrialOutcome,
} from '@dynlab/spec';

export interface TrainerOptions {
  bus: Bus;
  logger: Logger;
  registry: MetricsRegistry;
  instance: string;
  /** Worker threads. @default one per core (1 for the tensorflow backend) */
  threads?: number;
  /** @default 'auto' */
  backend?: BackendName | 'auto';
  /** Recorded points per telemetry chunk. @default 25 */
  chunkPoints?: number;
  /** Heap limit of a worker thread; a job that exceeds it fails, not the trainer. @default 2048 */
  workerHeapMb?: number;
  /**
   * Jobs held per worker beyond the one it runs, so a worker starts its next job the moment one
   * ends instead of after an ack and a pull (for jobs of a few milliseconds that gap was as long
   * as the job). Held jobs are kept alive with the server; 0 pulls only for a free worker.
   * @default 1
   */
  prefetch?: number;
}

const statusOf: Record<TrialOutcome['status'], v1.TrialStatus> = {
  ok: v1.TrialStatus.TRIAL_STATUS_OK,
  diverged: v1.TrialStatus.TRIAL_STATUS_DIVERGED,
  failed: v1.TrialStatus.TRIAL_STATUS_FAILED,
  cancelled: v1.TrialStatus.TRIAL_STATUS_CANCELLED,
};

/** How long the last telemetry chunks may trail the worker's result. */
const lastChunkWaitMs = 10_000;

/** `p`, or the error `onTimeout` makes after `ms`. */
async function waitFor(p: Promise<void>, ms: number, onTimeout: () => Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

type WorkerMessage =
  | { kind: 'telemetry'; trialIndex: number; chunk: TelemetryColumns; last: boolean }
  | { kind: 'progress'; stepsDone: number; stepsTotal: number };
type TaskResult =
  | { backend: { name: string }; outcomes: TrialOutcome[] }
  | {
      error: { code: string; message: string; retryable: boolean; details: Record<string, string> };
    };

export class Trainer {
  private readonly metrics: TrainerMetrics;
  private readonly log: Logger;
  private pool!: Piscina;
  private consumer?: RunningConsumer;
  private readonly running = new Map<string, Set<MessagePort>>();
  /** Jobs held: running in a worker or queued for one. */
  private held = 0;
  private keepAliveMs = 10_000;
  private threads = 1;
  backend = 'unknown';
  private statuses?: TypedKv<v1.SweepStatus>;
  private stopCancel?: () => void;

  private constructor(private readonly o: TrainerOptions) {
    this.metrics = createTrainerMetrics(o.registry);
    this.log = o.logger;
  }

  static async start(o: TrainerOptions): Promise<Trainer> {
    const t = new Trainer(o);
    const info = await initBackend(o.backend ?? 'auto');
    t.backend = info.name;
    t.metrics.setBackend(info.name);
    t.threads = info.name === 'tensorflow' ? 1 : Math.max(1, o.threads ?? availableParallelism());
    t.log.info('engine backend', {
      backend: info.name,
      detail: info.detail,
      unavailable: info.unavailable,
      threads: t.threads,
    });
    t.pool = new Piscina({
      filename: populationWorkerPath,
      minThreads: t.threads,
      maxThreads: t.threads,
      idleTimeout: 60 * 60 * 1000,
      resourceLimits: { maxOldGenerationSizeMb: o.workerHeapMb ?? 2048 },
      env: { ...process.env, DYNLAB_BACKEND: info.name },
    });
    t.stopCancel = o.bus.subscribe(
      subjects.cancelAll,
      v1.CancelNotice,
      (n, subject) => t.onCancel(n.sweepId, subject),
      () => t.metrics.malformedMessages.inc({ kind: 'control' }),
    ).stop;
    const ackWaitNs = (await o.bus.jsm.consumers.info(streams.jobs, consumers.trainers)).config
      .ack_wait;
    if (ackWaitNs) t.keepAliveMs = Math.max(100, ackWaitNs / 1e6 / 3);
    t.consumer = await startDurableConsumer(o.bus, {
      stream: streams.jobs,
      durable: consumers.trainers,
      type: v1.Job,
      concurrency: t.threads * (1 + Math.max(0, o.prefetch ?? 1)),
      batch: 1,
      logger: t.log,
      onMalformed: () => t.metrics.malformedMessages.inc({ kind: 'job' }),
      onDelivery: (n) => n > 1 && t.metrics.redeliveries.inc(),
      handler: (job, ctx) => t.runJob(job, ctx.working),
    });
    t.updatePool();
    return t;
  }

  /** Busy and total workers, for heartbeats. */
  load(): { busy: number; capacity: number; backend: string } {
    return { busy: this.busyWorkers(), capacity: this.pool.threads.length, backend: this.backend };
  }

  /** Workers running a job (held jobs not waiting in the pool's queue). */
  private busyWorkers(): number {
    // Clamped: a job just taken is counted as held before the pool has queued it.
    return Math.min(this.pool.threads.length, Math.max(0, this.held - this.pool.queueSize));
  }

  /**
   * Stops the running jobs of a sweep, once KV confirms the sweep is cancelled: a notice is one
   * core NATS message that anything could have sent (a message of another type decodes as one),
   * so a notice that does not match its subject or a cancelled sweep is counted and ignored.
   */
  private onCancel(sweepId: string, subject: string): void {
    const bogus = () => this.metrics.malformedMessages.inc({ kind: 'control' });
    if (!sweepId || subject !== subjects.cancel(sweepId)) return bogus();
    this.isCancelled(sweepId).then(
      (cancelled) => {
        if (!cancelled) return bogus();
        for (const port of this.running.get(sweepId) ?? []) port.postMessage({ kind: 'cancel' });
      },
      () => bogus(),
    );
  }

  /** Live workers as piscina counts them, not as configured: a pool that lost one shows it. */
  private updatePool(): void {
    this.metrics.setPool({
      threads: this.pool.threads.length,
      busy: this.busyWorkers(),
      queued: this.pool.queueSize,
    });
  }

  /** The sweep's state in KV decides (not a cached notice: a resumed sweep runs again). */
  private async isCancelled(sweepId: string): Promise<boolean> {
    this.statuses ??= await TypedKv.open(this.o.bus, buckets.sweeps, v1.SweepStatus);
    const st = await this.statuses.get(`sweep.${sweepId}`);
    return st?.value.state === v1.SweepState.SWEEP_STATE_CANCELLED;
  }

  private trialResult(
    job: v1.Job,
    trial: CompiledTrial,
    outcome: TrialOutcome,
    chunks: number,
    points: number,
  ): v1.ITrialResult {
    return {
      sweepId: job.sweepId,
      trialId: trial.id,
      status: statusOf[outcome.status],
      finalLoss: outcome.finalLoss,
      finalError: outcome.finalError,
      stepsDone: outcome.stepsDone,
      backend: outcome.backend,
      wallS: outcome.wallS,
      error: outcome.error
        ? { code: outcome.error.code, message: outcome.error.message.slice(0, 2000) }
        : null,
      telemetryChunks: chunks,
      telemetryPoints: points,
      jobId: job.jobId,
      instance: this.o.instance,
      params: trial.params,
    };
  }

  /** Every trial's result in one message: one publish and one coordinator record per job. */
  private async publishResults(job: v1.Job, results: v1.ITrialResult[]): Promise<void> {
    const message = (part: v1.ITrialResult[]) =>
      encode(v1.JobResult, {
        sweepId: job.sweepId,
        jobId: job.jobId,
        results: part,
        instance: this.o.instance,
      });
    const whole = message(results);
    const publish = (bytes: Uint8Array, msgId: string) =>
      this.o.bus.publishEncoded(subjects.results(job.sweepId), v1.JobResult, bytes, { msgId });
    if (whole.length <= this.o.bus.maxPayload) return publish(whole, job.jobId);
    // A big population with long error messages: in parts, split the same way every time.
    const parts = splitBySize(
      results,
      (r) => encode(v1.TrialResult, r).length,
      this.o.bus.maxPayload - 1024,
    );
    await Promise.all(parts.map((p, k) => publish(message(p), `${job.jobId}:p${k}`)));
  }

  private async runJob(job: v1.Job, working: () => void): Promise<void> {
    const started = process.hrtime.bigint();
    const sweep = job.sweepId;
    // A message of another type can decode as a job: one without ids or trials is dead-lettered.
    if (!job.jobId || !sweep || (job.trials.length === 0 && job.refs.length === 0))
      throw new ValidationError([
        { path: 'job', message: 'jobId, sweepId and trials are required' },
      ]);
    checkToken(sweep, 'job.sweepId');
    const trials = jobTrialsFromProto(job); // a malformed trial is not retryable: dead-lettered
    if (await this.isCancelled(sweep)) {
      const cancelled: TrialOutcome = {
        status: 'cancelled',
        finalLoss: NaN,
        finalError: NaN,
        stepsDone: 0,
        backend: this.backend,
        wallS: 0,
      };
      await this.publishResults(
        job,
        trials.map((t) => this.trialResult(job, t, cancelled, 0, 0)),
      );
      this.metrics.jobs.inc({ outcome: 'cancelled' });
      return;
    }
    this.metrics.initSweep(sweep, this.backend);
    const { port1, port2 } = new MessageChannel();
    // A job queued behind another gets no progress reports: tell the server it is held.
    const keepAlive = setInterval(() => {
      try {
        working();
      } catch {
        this.metrics.heartbeatFailures.inc();
      }
    }, this.keepAliveMs);

    const ports = this.running.get(sweep) ?? new Set<MessagePort>();
    ports.add(port2);
    this.running.set(sweep, ports);
    const chunkIndex = new Array<number>(trials.length).fill(0);
    const points = new Array<number>(trials.length).fill(0);
    // Chunk k of every trial goes out in one batch message on the job's subject; publishes are
    // pipelined (not awaited one by one): readers order chunks by index.
    const batcher = new TelemetryBatcher(sweep, job.jobId, trials.length, this.o.bus.maxPayload);
    const publishing: Promise<void>[] = [];
    let publishError: unknown;
    const publish = (batches: EncodedBatch[]) => {
      for (const b of batches)
        publishing.push(
          this.o.bus
            .publishEncoded(subjects.telemetry(sweep, job.jobId), v1.TelemetryBatch, b.bytes, {
              msgId: b.msgId,
            })
            .then(
              () => {
                this.metrics.telemetryChunks.inc({ sweep }, b.chunks);
                this.metrics.telemetryBytes.inc({ sweep }, b.bytes.length);
              },
              (err: unknown) => {
                publishError ??= err;
              },
            ),
        );
    };
    // Every trial ends with a `last` chunk, but the port and piscina's result are separate
    // channels: the last chunks may arrive after the result, and each result counts its chunks.
    let lastsToCome = trials.length;
    let allLastsIn: () => void = () => undefined;
    const lastsIn = new Promise<void>((r) => (allLastsIn = r));
    port2.on('message', (m: WorkerMessage) => {
      // The worker has started the job: from now on its progress reports keep it alive (a hung
      // worker then stops them, and JetStream redelivers the job after the ack wait).
      clearInterval(keepAlive);
      if (m.kind === 'progress') {
        try {
          working();
        } catch {
          this.metrics.heartbeatFailures.inc();
        }
        return;
      }
      const trial = trials[m.trialIndex]!;
      const index = chunkIndex[m.trialIndex] ?? 0;
      chunkIndex[m.trialIndex] = index + 1;
      points[m.trialIndex]! += m.chunk.steps.length;
      publish(
        batcher.add(m.trialIndex, {
          sweepId: sweep,
          trialId: trial.id,
          chunkIndex: index,
          last: m.last,
          jobId: job.jobId,
          ...m.chunk,
        }),
      );
      if (m.last && --lastsToCome === 0) allLastsIn();
    });
    this.held++;
    this.updatePool();
    let outcome: 'ok' | 'failed' | 'cancelled' = 'failed';
    try {
      const res = (await this.pool.run(
        {
          trials: trials.map(trialToInput),
          backend: this.backend,
          chunkPoints: this.o.chunkPoints ?? 25,
          port: port1,
        },
        { transferList: [port1] },
      )) as TaskResult;
      if (!('error' in res))
        await waitFor(
          lastsIn,
          lastChunkWaitMs,
          () =>
            new DynlabError(
              ErrorCode.Internal,
              `job ${job.jobId}: the last telemetry chunks of ${lastsToCome} trials did not arrive`,
            ),
        );
      if ('error' in res) throw fromErrorInfo(res.error);
      publish(batcher.flush()); // nothing normally: every trial's last chunk completed its batches
      await Promise.all(publishing);
      if (publishError) throw publishError;
      let steps = 0;
      await this.publishResults(
        job,
        res.outcomes.map((o, i) =>
          this.trialResult(job, trials[i]!, o, chunkIndex[i]!, points[i]!),
        ),
      );
      for (const o of res.outcomes) {
        this.metrics.trials.inc({ sweep, backend: o.backend || this.backend, outcome: o.status });
        steps += o.stepsDone;
      }
      this.metrics.networkSteps.inc({ sweep, backend: this.backend }, steps);
      outcome = res.outcomes.every((o) => o.status === 'cancelled') ? 'cancelled' : 'ok';
    } finally {
      this.held--;
      clearInterval(keepAlive);
      ports.delete(port2);
      if (ports.size === 0) this.running.delete(sweep);
      port2.close();
      this.updatePool();
      this.metrics.jobs.inc({ outcome });
      this.metrics.jobDuration.observe(
        { backend: this.backend, outcome },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    }
  }

  /** Stops pulling, lets running jobs finish (or hands them back after the grace period), closes the pool. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopCancel?.();
    await this.consumer?.stop(graceMs);
    await this.pool.destroy();
  }
}
