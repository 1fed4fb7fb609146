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
import * as path from 'node:path';
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
import { initBackend, type BackendName } from '@dynlab/engine';
import { createTrainerMetrics, type MetricsRegistry, type TrainerMetrics } from '@dynlab/metrics';
import { v1 } from '@dynlab/proto';
import { jobResultToProto, jobTrialIndices } from '@dynlab/spec';
import {
  encodeJobResult,
  type EncodedMessage,
  type JobTaskResult,
  type JobWorkerMessage,
} from './job-worker';
import type { EncodedBatch } from './telemetry-batcher';

/** The trainer's worker entry, for piscina (see job-worker.ts). */
export const jobWorkerPath = path.join(__dirname, 'job-worker.js');

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

/** How long the last telemetry batches may trail the worker's result. */
const lastBatchWaitMs = 10_000;

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

/**
 * How long a sweep read as running is believed without asking KV again. A cancel notice makes the
 * trainer ask at once; this only bounds how late a job is started after a lost notice.
 */
const runningCacheMs = 1000;

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
  /** When each sweep was last read as not cancelled (see `isCancelled`). */
  private readonly runningSince = new Map<string, number>();
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
      filename: jobWorkerPath,
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
      // One pull asks for every free slot (one pull per job took a seventh of the main thread).
      // A job is idempotent (dedup ids, outcomes recorded once): a lost ack costs a rerun.
      confirmAcks: false,
      logger: t.log,
      onMalformed: () => t.metrics.malformedMessages.inc({ kind: 'job' }),
      onDelivery: (n) => n > 1 && t.metrics.redeliveries.inc(),
      handler: (job, ctx) => t.runJob(job, ctx.data, ctx.working),
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
    this.isCancelled(sweepId, true).then(
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

  /**
   * The sweep's state in KV decides (not a cached notice: a resumed sweep runs again). A sweep
   * read as not cancelled is believed for `runningCacheMs` (one read per sweep and second instead
   * of one per job); `fresh` asks KV in any case (a cancel notice).
   */
  private async isCancelled(sweepId: string, fresh = false): Promise<boolean> {
    const seen = this.runningSince.get(sweepId);
    if (!fresh && seen !== undefined && performance.now() - seen < runningCacheMs) return false;
    this.statuses ??= await TypedKv.open(this.o.bus, buckets.sweeps, v1.SweepStatus);
    const st = await this.statuses.get(`sweep.${sweepId}`);
    const cancelled = st?.value.state === v1.SweepState.SWEEP_STATE_CANCELLED;
    if (cancelled) this.runningSince.delete(sweepId);
    else {
      // Bounded: the oldest sweep goes first (a Map iterates in insertion order).
      this.runningSince.delete(sweepId);
      this.runningSince.set(sweepId, performance.now());
      if (this.runningSince.size > 1024)
        this.runningSince.delete(this.runningSince.keys().next().value!);
    }
    return cancelled;
  }

  /** Publishes a job's encoded results (one message, or its parts). */
  private publishResults(sweepId: string, messages: EncodedMessage[]) {
    return Promise.all(
      messages.map((m) =>
        this.o.bus.publishEncoded(subjects.results(sweepId), v1.JobResult, m.bytes, {
          msgId: m.msgId,
        }),
      ),
    );
  }

  /** A job of a cancelled sweep: every trial `cancelled`, without running it. */
  private async cancelJob(job: v1.Job, indices: number[]): Promise<void> {
    const cancelled = v1.TrialStatus.TRIAL_STATUS_CANCELLED;
    const result = jobResultToProto({
      sweepId: job.sweepId,
      jobId: job.jobId,
      instance: this.o.instance,
      backend: this.backend,
      wallS: 0,
      trials: indices.map((index) => ({
        index,
        status: cancelled,
        finalLoss: NaN,
        finalError: NaN,
        stepsDone: 0,
        telemetryChunks: 0,
        telemetryPoints: 0,
      })),
    });
    await this.publishResults(job.sweepId, encodeJobResult(result, this.o.bus.maxPayload));
    this.metrics.jobs.inc({ outcome: 'cancelled' });
  }

  private async runJob(job: v1.Job, bytes: Uint8Array, working: () => void): Promise<void> {
    const started = process.hrtime.bigint();
    const sweep = job.sweepId;
    // A message of another type can decode as a job: one without ids or trials of a sweep (the
    // worker checks the rest) is dead-lettered.
    const indices = jobTrialIndices(job);
    if (!job.jobId || !sweep || indices.length === 0 || indices.some((i) => i < 0))
      throw new ValidationError([
        { path: 'job', message: 'jobId, sweepId and trials of the sweep are required' },
      ]);
    checkToken(sweep, 'job.sweepId');
    if (await this.isCancelled(sweep)) return this.cancelJob(job, indices);
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
    // Batches are published as the worker completes them, pipelined (not awaited one by one):
    // readers order chunks by index.
    const publishing: Promise<void>[] = [];
    let publishError: unknown;
    const telemetrySubject = subjects.telemetry(sweep, job.jobId);
    const publish = (batches: EncodedBatch[]) => {
      for (const b of batches)
        publishing.push(
          this.o.bus
            .publishEncoded(telemetrySubject, v1.TelemetryBatch, b.bytes, { msgId: b.msgId })
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
    // The port and piscina's result are separate channels: the last batches may arrive after the
    // result, which says how many telemetry messages the worker posted.
    let received = 0;
    let expected = Infinity;
    let allIn: () => void = () => undefined;
    const batchesIn = new Promise<void>((r) => (allIn = r));
    port2.on('message', (m: JobWorkerMessage) => {
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
      publish(m.batches);
      if (++received >= expected) allIn();
    });
    this.held++;
    this.updatePool();
    let outcome: 'ok' | 'failed' | 'cancelled' = 'failed';
    try {
      // The job's bytes go to the worker in a buffer of their own (a copy: the message is a view
      // of the NATS client's read buffer, which must not be detached; Buffer#slice would not copy).
      const own = new Uint8Array(bytes);
      const res = (await this.pool.run(
        {
          job: own,
          backend: this.backend,
          chunkPoints: this.o.chunkPoints ?? 25,
          maxPayload: this.o.bus.maxPayload,
          instance: this.o.instance,
          port: port1,
        },
        { transferList: [port1, own.buffer as ArrayBuffer] },
      )) as JobTaskResult;
      if ('error' in res) throw fromErrorInfo(res.error);
      expected = res.summary.telemetryMessages;
      if (received >= expected) allIn();
      await waitFor(
        batchesIn,
        lastBatchWaitMs,
        () =>
          new DynlabError(
            ErrorCode.Internal,
            `job ${job.jobId}: ${expected - received} of ${expected} telemetry messages did not arrive`,
          ),
      );
      await Promise.all(publishing);
      if (publishError) throw publishError;
      await this.publishResults(sweep, res.results);
      const { statuses, steps, backend } = res.summary;
      for (const [status, n] of Object.entries(statuses) as [keyof typeof statuses, number][])
        this.metrics.trials.inc({ sweep, backend: backend || this.backend, outcome: status }, n);
      this.metrics.networkSteps.inc({ sweep, backend: this.backend }, steps);
      this.metrics.populations.inc({ backend: backend || this.backend }, res.summary.populations);
      const all = Object.values(statuses).reduce((a, b) => a + (b ?? 0), 0);
      outcome = statuses.cancelled === all ? 'cancelled' : 'ok';
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
