/**
 * The coordinator's metrics. Sweep progress and state are gauges the coordinator sets from the
 * sweep records in KV (not counters it increments), so they are right after a restart and agree
 * between several coordinators (dashboards take the `max` across instances). Queue depth and
 * consumer lag are gauges it sets from JetStream's stream and consumer info. Series a dashboard
 * panel reads are created at zero up front, so a panel shows 0, not "no data", before the first event.
 */
import { requestBuckets } from './duration-buckets';
import {
  sweepStates,
  trialOutcomes,
  type SubmitOutcomeLabel,
  type SweepStateLabel,
  type TrialOutcomeLabel,
} from './labels';
import type { CounterHandle, GaugeHandle, HistogramHandle } from './metric-handles';
import { CoordinatorMetricNames as N } from './metric-names';
import type { MetricsRegistry } from './metrics-registry';

/** Kinds of message the coordinator decodes: a request, a trial result, a dead-letter record, a finding. */
export type CoordinatorMessageKind = 'request' | 'result' | 'deadletter' | 'finding';

/** A sweep's trial counts as recorded in KV (the `SweepCounts` message). */
export interface SweepCountsLike {
  total: number;
  ok: number;
  diverged: number;
  failed: number;
  cancelled: number;
}

/** The job queue as JetStream reports it. */
export interface JobQueueInfo {
  /** Jobs in the DYNLAB_JOBS stream (work queue: not yet acked). */
  depth: number;
  /** The `trainers` consumer's `num_pending`: jobs not yet delivered to any trainer. */
  lag: number;
  /** The consumer's `num_ack_pending`: jobs delivered and not yet acked. */
  inFlight: number;
}

/** Typed metric handles of the coordinator; create with {@link createCoordinatorMetrics}. */
export class CoordinatorMetrics {
  /** Sweeps known to KV, by state (set from KV). */
  readonly sweeps: GaugeHandle<{ state: SweepStateLabel }>;
  /** Trials of a sweep in total (set from KV). */
  readonly sweepTrials: GaugeHandle<{ sweep: string }>;
  /** Trials of a sweep that have an outcome, by outcome (set from KV). */
  readonly sweepTrialsFinished: GaugeHandle<{ sweep: string; outcome: TrialOutcomeLabel }>;
  /** Trial outcomes this instance recorded (first time only: a duplicate result is not counted). */
  readonly trials: CounterHandle<{ sweep: string; outcome: TrialOutcomeLabel }>;
  /** Jobs published to the work queue. */
  readonly jobsPublished: CounterHandle<{ sweep: string }>;
  /** Jobs in the DYNLAB_JOBS stream. */
  readonly jobsQueueDepth: GaugeHandle;
  /** Jobs not yet delivered to a trainer (consumer lag). */
  readonly jobsConsumerLag: GaugeHandle;
  /** Jobs delivered to a trainer and not yet acked. */
  readonly jobsInFlight: GaugeHandle;
  /** Jobs taken from the dead-letter stream (redeliveries exhausted), their trials marked failed. */
  readonly jobsDeadLettered: CounterHandle;
  /** Time to answer a submit request, by outcome. */
  readonly submitDuration: HistogramHandle<{ outcome: SubmitOutcomeLabel }>;
  /** Sweep specs rejected by validation. */
  readonly validationRejections: CounterHandle;
  /** Messages that could not be decoded, by kind. */
  readonly malformedMessages: CounterHandle<{ kind: CoordinatorMessageKind }>;

  constructor(registry: MetricsRegistry) {
    this.sweeps = registry.gauge({
      name: N.sweeps,
      help: 'Sweeps recorded in KV, by state.',
      labelNames: ['state'],
    });
    this.sweepTrials = registry.gauge({
      name: N.sweepTrials,
      help: 'Trials of the sweep in total.',
      labelNames: ['sweep'],
    });
    this.sweepTrialsFinished = registry.gauge({
      name: N.sweepTrialsFinished,
      help: 'Trials of the sweep that have an outcome, by outcome.',
      labelNames: ['sweep', 'outcome'],
    });
    this.trials = registry.counter({
      name: N.trials,
      help: 'Trial outcomes recorded by this coordinator (duplicates not counted).',
      labelNames: ['sweep', 'outcome'],
    });
    this.jobsPublished = registry.counter({
      name: N.jobsPublished,
      help: 'Jobs published to the work queue.',
      labelNames: ['sweep'],
    });
    this.jobsQueueDepth = registry.gauge({
      name: N.jobsQueueDepth,
      help: 'Jobs in the DYNLAB_JOBS stream (read from JetStream).',
      labelNames: [],
    });
    this.jobsConsumerLag = registry.gauge({
      name: N.jobsConsumerLag,
      help: "Jobs not yet delivered to a trainer: the trainers consumer's num_pending.",
      labelNames: [],
    });
    this.jobsInFlight = registry.gauge({
      name: N.jobsInFlight,
      help: "Jobs delivered and not yet acked: the trainers consumer's num_ack_pending.",
      labelNames: [],
    });
    this.jobsDeadLettered = registry.counter({
      name: N.jobsDeadLettered,
      help: 'Jobs that exhausted their redeliveries; their trials were marked failed.',
      labelNames: [],
    });
    this.submitDuration = registry.histogram({
      name: N.submitDuration,
      help: 'Time to answer a submit request, by outcome.',
      labelNames: ['outcome'],
      buckets: requestBuckets,
    });
    this.validationRejections = registry.counter({
      name: N.validationRejections,
      help: 'Sweep specs rejected by validation.',
      labelNames: [],
    });
    this.malformedMessages = registry.counter({
      name: N.malformedMessages,
      help: 'Messages that could not be decoded, by kind; each was dead-lettered.',
      labelNames: ['kind'],
    });

    for (const state of sweepStates) this.sweeps.set({ state }, 0);
    for (const outcome of ['accepted', 'rejected', 'error'] as const)
      this.submitDuration.zero({ outcome });
    for (const kind of ['request', 'result', 'deadletter', 'finding'] as const)
      this.malformedMessages.inc({ kind }, 0);
    this.jobsDeadLettered.inc(0);
    this.validationRejections.inc(0);
  }

  /** Creates the sweep's series at zero (call when a sweep is submitted or first seen). */
  initSweep(sweep: string): void {
    for (const outcome of trialOutcomes) {
      this.trials.inc({ sweep, outcome }, 0);
      this.sweepTrialsFinished.set({ sweep, outcome }, 0);
    }
    this.jobsPublished.inc({ sweep }, 0);
  }

  /** Sets the sweep's progress gauges from its KV record. */
  setSweepCounts(sweep: string, counts: SweepCountsLike): void {
    this.sweepTrials.set({ sweep }, counts.total);
    for (const outcome of trialOutcomes)
      this.sweepTrialsFinished.set({ sweep, outcome }, counts[outcome]);
  }

  /** Sets the number of sweeps in each state (a state left out is 0). */
  setSweepStates(counts: Partial<Record<SweepStateLabel, number>>): void {
    for (const state of sweepStates) this.sweeps.set({ state }, counts[state] ?? 0);
  }

  /** Sets the queue gauges from JetStream's stream and consumer info. */
  setJobQueue(info: JobQueueInfo): void {
    this.jobsQueueDepth.set(info.depth);
    this.jobsConsumerLag.set(info.lag);
    this.jobsInFlight.set(info.inFlight);
  }
}

/** Creates the coordinator's metrics in `registry`. */
export function createCoordinatorMetrics(registry: MetricsRegistry): CoordinatorMetrics {
  return new CoordinatorMetrics(registry);
}
