/**
 * The trainer's metrics. Training runs in piscina worker threads, which have no registry of their
 * own: what they count (trials, network-steps) travels back with each task's result as a
 * {@link MetricsDelta} and is applied here, in the main thread, where `/metrics` is served.
 * Throughput is a counter of network-steps (population size x steps), so `rate()` gives
 * network-steps/s over any window and sums across trainers.
 */
import { jobBuckets, waitBuckets } from './duration-buckets';
import { jobOutcomes, trialOutcomes, type JobOutcomeLabel, type TrialOutcomeLabel } from './labels';
import type { CounterHandle, GaugeHandle, HistogramHandle } from './metric-handles';
import { TrainerMetricNames as N } from './metric-names';
import type { MetricsRegistry } from './metrics-registry';

/** Kinds of message the trainer decodes: a job, a control notice (cancel). */
export type TrainerMessageKind = 'job' | 'control';

/** The piscina pool's state. */
export interface PoolState {
  /** Worker threads in the pool. */
  threads: number;
  /** Workers running a task now. */
  busy: number;
  /** Tasks waiting for a worker. */
  queued: number;
}

/** Typed metric handles of the trainer; create with {@link createTrainerMetrics}. */
export class TrainerMetrics {
  /** Jobs finished, by outcome. */
  readonly jobs: CounterHandle<{ outcome: JobOutcomeLabel }>;
  /** Trials finished, by sweep, backend and outcome (usually written from a worker's delta). */
  readonly trials: CounterHandle<{ sweep: string; backend: string; outcome: TrialOutcomeLabel }>;
  /** Network-steps computed (population size x steps), by sweep and backend. */
  readonly networkSteps: CounterHandle<{ sweep: string; backend: string }>;
  /** Populations run, by backend: more than jobs where jobs of tiny trials hold several. */
  readonly populations: CounterHandle<{ backend: string }>;
  /** Wall time of a job from pick-up to ack/nak, by backend and outcome. */
  readonly jobDuration: HistogramHandle<{ backend: string; outcome: JobOutcomeLabel }>;
  /** Time a pulled job waited for a free worker. */
  readonly workerWait: HistogramHandle;
  /** Busy workers / workers. */
  readonly poolUtilization: GaugeHandle;
  /** Tasks queued in the pool, waiting for a worker. */
  readonly poolQueue: GaugeHandle;
  /** Worker threads in the pool. */
  readonly poolThreads: GaugeHandle;
  /** 1 for the backend in use (an info gauge: the backend is the label). */
  readonly backendInfo: GaugeHandle<{ backend: string }>;
  /** `working()` heartbeats that failed to reach the server. */
  readonly heartbeatFailures: CounterHandle;
  /** Jobs received that had been delivered before (another trainer died or timed out). */
  readonly redeliveries: CounterHandle;
  /** Telemetry chunks published, by sweep. */
  readonly telemetryChunks: CounterHandle<{ sweep: string }>;
  /** Encoded telemetry bytes published, by sweep. */
  readonly telemetryBytes: CounterHandle<{ sweep: string }>;
  /** Messages that could not be decoded, by kind. */
  readonly malformedMessages: CounterHandle<{ kind: TrainerMessageKind }>;
  private backend: string | undefined;
  /** Sweep and backend pairs whose series exist (see initSweep). */
  private readonly initialized = new Set<string>();

  constructor(registry: MetricsRegistry) {
    this.jobs = registry.counter({
      name: N.jobs,
      help: 'Jobs finished, by outcome.',
      labelNames: ['outcome'],
    });
    this.trials = registry.counter({
      name: N.trials,
      help: 'Trials finished, by sweep, backend and outcome.',
      labelNames: ['sweep', 'backend', 'outcome'],
    });
    this.networkSteps = registry.counter({
      name: N.networkSteps,
      help: 'Network-steps computed (population size x steps); rate() is network-steps/s.',
      labelNames: ['sweep', 'backend'],
    });
    this.populations = registry.counter({
      name: N.populations,
      help: 'Populations run, by backend (a job of tiny trials runs several, one after another).',
      labelNames: ['backend'],
    });
    this.jobDuration = registry.histogram({
      name: N.jobDuration,
      help: 'Wall time of a job from pick-up to ack or nak.',
      labelNames: ['backend', 'outcome'],
      buckets: jobBuckets,
    });
    this.workerWait = registry.histogram({
      name: N.workerWait,
      help: 'Time a pulled job waited for a free worker.',
      labelNames: [],
      buckets: waitBuckets,
    });
    this.poolUtilization = registry.gauge({
      name: N.poolUtilization,
      help: 'Busy workers divided by workers.',
      labelNames: [],
    });
    this.poolQueue = registry.gauge({
      name: N.poolQueue,
      help: 'Tasks queued in the worker pool.',
      labelNames: [],
    });
    this.poolThreads = registry.gauge({
      name: N.poolThreads,
      help: 'Worker threads in the pool.',
      labelNames: [],
    });
    this.backendInfo = registry.gauge({
      name: N.backendInfo,
      help: 'Always 1; the backend label names the engine backend in use.',
      labelNames: ['backend'],
    });
    this.heartbeatFailures = registry.counter({
      name: N.heartbeatFailures,
      help: 'Job heartbeats (working()) that failed.',
      labelNames: [],
    });
    this.redeliveries = registry.counter({
      name: N.redeliveries,
      help: 'Jobs received that had been delivered before.',
      labelNames: [],
    });
    this.telemetryChunks = registry.counter({
      name: N.telemetryChunks,
      help: 'Telemetry chunks published, by sweep.',
      labelNames: ['sweep'],
    });
    this.telemetryBytes = registry.counter({
      name: N.telemetryBytes,
      help: 'Encoded telemetry bytes published, by sweep.',
      labelNames: ['sweep'],
    });
    this.malformedMessages = registry.counter({
      name: N.malformedMessages,
      help: 'Messages that could not be decoded, by kind; each was dead-lettered.',
      labelNames: ['kind'],
    });

    for (const outcome of jobOutcomes) this.jobs.inc({ outcome }, 0);
    for (const kind of ['job', 'control'] as const) this.malformedMessages.inc({ kind }, 0);
    this.workerWait.zero();
    this.heartbeatFailures.inc(0);
    this.redeliveries.inc(0);
    this.setPool({ threads: 0, busy: 0, queued: 0 });
  }

  /** Names the backend in use: its info series is 1, a previous backend's series is removed. */
  setBackend(backend: string): void {
    if (this.backend !== undefined && this.backend !== backend)
      this.backendInfo.forget({ backend: this.backend });
    this.backend = backend;
    this.backendInfo.set({ backend }, 1);
  }

  /**
   * Creates the sweep's series at zero for this backend, once (call it for every job: a sweep and
   * backend seen lately cost nothing; it was 150 us a job).
   */
  initSweep(sweep: string, backend: string): void {
    const key = `${sweep}\u0000${backend}`;
    if (this.initialized.has(key)) return;
    this.initialized.add(key);
    // Bounded: the oldest goes first (a Set iterates in insertion order).
    if (this.initialized.size > 1024)
      this.initialized.delete(this.initialized.values().next().value!);
    for (const outcome of trialOutcomes) this.trials.inc({ sweep, backend, outcome }, 0);
    this.networkSteps.inc({ sweep, backend }, 0);
    this.telemetryChunks.inc({ sweep }, 0);
    this.telemetryBytes.inc({ sweep }, 0);
  }

  /** Sets the pool gauges. */
  setPool(state: PoolState): void {
    this.poolThreads.set(state.threads);
    this.poolQueue.set(state.queued);
    this.poolUtilization.set(state.threads > 0 ? state.busy / state.threads : 0);
  }
}

/** Creates the trainer's metrics in `registry`. */
export function createTrainerMetrics(registry: MetricsRegistry): TrainerMetrics {
  return new TrainerMetrics(registry);
}
