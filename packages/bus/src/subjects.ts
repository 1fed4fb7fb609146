/**
 * Every NATS name dynlab uses, in one place: subjects follow `dynlab.v1.<area>.<verb>[.<id>]`.
 * Sweep and trial ids are single subject tokens (letters, digits, '-', '_'), so a subscriber can
 * select one sweep or one trial with a wildcard.
 */
import { ValidationError } from '@dynlab/core';

const prefix = 'dynlab.v1';

export const subjects = {
  sweepSubmit: `${prefix}.sweep.submit`,
  sweepGet: `${prefix}.sweep.get`,
  sweepList: `${prefix}.sweep.list`,
  sweepCancel: `${prefix}.sweep.cancel`,
  sweepResume: `${prefix}.sweep.resume`,
  jobs: (sweepId: string) => `${prefix}.jobs.${sweepId}`,
  jobsAll: `${prefix}.jobs.>`,
  results: (sweepId: string) => `${prefix}.results.${sweepId}`,
  resultsAll: `${prefix}.results.>`,
  /** A job's telemetry batches (every trial's chunks of the job). */
  telemetry: (sweepId: string, jobId: string) => `${prefix}.telemetry.${sweepId}.${jobId}`,
  telemetryOfSweep: (sweepId: string) => `${prefix}.telemetry.${sweepId}.>`,
  telemetryAll: `${prefix}.telemetry.>`,
  findings: (sweepId: string) => `${prefix}.findings.${sweepId}`,
  findingsAll: `${prefix}.findings.>`,
  deadLetter: (area: string) => `${prefix}.deadletter.${area}`,
  deadLetterAll: `${prefix}.deadletter.>`,
  cancel: (sweepId: string) => `${prefix}.control.cancel.${sweepId}`,
  cancelAll: `${prefix}.control.cancel.>`,
  heartbeat: (service: string, instance: string) => `${prefix}.heartbeat.${service}.${instance}`,
  heartbeatAll: `${prefix}.heartbeat.>`,
  /** JetStream's advisory when a message of `stream` exhausted its deliveries on any consumer. */
  maxDeliveriesAdvisory: (stream: string) =>
    `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`,
} as const;

export const streams = {
  jobs: 'DYNLAB_JOBS',
  results: 'DYNLAB_RESULTS',
  telemetry: 'DYNLAB_TELEMETRY',
  findings: 'DYNLAB_FINDINGS',
  deadLetter: 'DYNLAB_DEADLETTER',
} as const;

export const consumers = {
  trainers: 'trainers',
  coordinatorResults: 'coordinator-results',
  coordinatorDeadLetters: 'coordinator-deadletters',
  coordinatorFindings: 'coordinator-findings',
  analyzerTelemetry: (group: string) => `analyzer-${group}-telemetry`,
  analyzerResults: (group: string) => `analyzer-${group}-results`,
} as const;

export const buckets = { sweeps: 'dynlab_sweeps' } as const;

/** Trials per outcome shard in the sweeps bucket (a 16 KiB value: one status byte per trial). */
export const outcomeShardSize = 16_384;

/** Keys of the sweeps bucket (written by the coordinator, read by tests and tools). */
export const sweepKeys = {
  status: (sweepId: string) => `sweep.${sweepId}`,
  spec: (sweepId: string) => `spec.${sweepId}`,
  /** Recorded statuses of trials [shard * outcomeShardSize, ...) (an OutcomeShard). */
  outcomes: (sweepId: string, shard: number) => `outcomes.${sweepId}.${shard}`,
  finding: (sweepId: string, findingId: string) => `finding.${sweepId}.${findingId}`,
  /** The trials resume number `resume` re-runs (an OutcomeShard with 1 for each). */
  resumePlan: (sweepId: string, resume: number, shard: number) =>
    `resume.${sweepId}.${resume}.${shard}`,
} as const;

/** Queue group of the coordinators' request handlers. */
export const coordinatorQueue = 'coordinators';

const tokenRe = /^[A-Za-z0-9_-]{1,128}$/;

/** Whether an id can be one subject token. */
export function isToken(id: string): boolean {
  return tokenRe.test(id);
}

/** Checks that an id can be one subject token; throws a ValidationError naming `what`. */
export function checkToken(id: string, what: string): string {
  if (!isToken(id))
    throw new ValidationError([
      { path: what, message: `'${id}' must be 1-128 letters, digits, '-' or '_'` },
    ]);
  return id;
}
