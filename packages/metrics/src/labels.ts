/**
 * The label vocabulary. Every label a dynlab metric may carry is named here and each has a
 * bounded set of values (a service, an instance, a sweep, a backend, an outcome...), so the number
 * of series grows with the cluster and the number of sweeps, never with trials, steps or features.
 * Metric definitions are checked against this list when they are created, so a label such as
 * `trial` fails at start-up, not in a Prometheus that ran out of memory.
 */
import { DynlabError, ErrorCode } from '@dynlab/core';

/** Label names a dynlab metric may carry (`le` is added by histograms themselves). */
export const allowedLabelNames = [
  'service',
  'instance',
  'sweep',
  'backend',
  'outcome',
  'analyzer',
  'kind',
  'severity',
  'state',
  'hook',
  'version',
  'node_version',
] as const;

/** One of {@link allowedLabelNames}. */
export type LabelName = (typeof allowedLabelNames)[number];

/** How a trial ended, as a label value (the `TrialStatus` of @dynlab/spec). */
export type TrialOutcomeLabel = 'ok' | 'diverged' | 'failed' | 'cancelled';

/** Every {@link TrialOutcomeLabel}, in a fixed order (used to create zero series). */
export const trialOutcomes: readonly TrialOutcomeLabel[] = [
  'ok',
  'diverged',
  'failed',
  'cancelled',
];

/** How a trainer's job ended: acked, nak'd after an error, dropped for a cancelled sweep, or handed back at shutdown. */
export type JobOutcomeLabel = 'ok' | 'failed' | 'cancelled' | 'requeued';

/** Every {@link JobOutcomeLabel}. */
export const jobOutcomes: readonly JobOutcomeLabel[] = ['ok', 'failed', 'cancelled', 'requeued'];

/** How a submit request ended: accepted, rejected by validation, or failed inside the coordinator. */
export type SubmitOutcomeLabel = 'accepted' | 'rejected' | 'error';

/** The state of a sweep (the `SweepState` enum of the protocol, lower case). */
export type SweepStateLabel = 'running' | 'complete' | 'cancelled' | 'failed';

/** Every {@link SweepStateLabel}. */
export const sweepStates: readonly SweepStateLabel[] = [
  'running',
  'complete',
  'cancelled',
  'failed',
];

/** Severity of a finding (the `Severity` of @dynlab/spec). */
export type SeverityLabel = 'info' | 'warning' | 'alert';

/** Analyzer hooks whose time and errors are counted (the `HookName` of @dynlab/analysis). */
export type AnalyzerHookLabel = 'setup' | 'onChunk' | 'onTrialEnd' | 'onSweepEnd' | 'close';

/** Every {@link AnalyzerHookLabel}. */
export const analyzerHooks: readonly AnalyzerHookLabel[] = [
  'setup',
  'onChunk',
  'onTrialEnd',
  'onSweepEnd',
  'close',
];

const allowed = new Set<string>(allowedLabelNames);

/** Label names that would make one series per trial, step or feature; named in the error to say why. */
const unbounded =
  /^(trial|trial_id|step|feature|feature_id|job|job_id|finding|finding_id|subject)$/;

/**
 * Throws a DynlabError (code CONFIG) when `labels` holds a name outside {@link allowedLabelNames}.
 * Why: an unbounded label is a memory leak in every Prometheus that scrapes the service.
 */
export function checkLabelNames(metric: string, labels: readonly string[]): void {
  for (const label of labels) {
    if (allowed.has(label)) continue;
    const why = unbounded.test(label) ? ' (one series per value: unbounded)' : '';
    throw new DynlabError(
      ErrorCode.Config,
      `metric ${metric}: label '${label}' is not one of ${allowedLabelNames.join(', ')}${why}`,
      {
        details: { metric, label },
      },
    );
  }
}
