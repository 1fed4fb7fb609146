/**
 * What the results writer keeps while a sweep streams in, and what the figures read. Per trial it
 * keeps a handful of scalars (the trial table); full series are kept, downsampled, only for a
 * bounded set of trials (a few seeds of each group), which is all a plot can show anyway.
 */
import type { Finding, TrialStatus } from '@dynlab/spec';
import type { SpeedPoint } from './finding-evidence';
import type { FittedSigmoid } from './log-sigmoid';

/** Where a trial's learning time came from. */
export type LearningTimeSource = 'caller' | 'learning-curve' | 'half-error';

/** One trial's row: its swept parameters, how it ended and its learning time. */
export interface TrialRecord {
  id: string;
  seed: number;
  /** Index of the trial's group (trials with the same swept values except the seed). */
  group: number;
  /** Swept values as JSON text by axis path (from `CompiledTrial.params`, seed excluded). */
  params: Readonly<Record<string, string>>;
  status: TrialStatus;
  backend: string;
  finalLoss: number;
  finalError: number;
  stepsDone: number;
  wallS: number;
  /** `code: message` of a failed trial. */
  failure?: string;
  /** Training error at the first recorded step. */
  initialError?: number;
  /** First recorded step where the error is at most half its initial value. */
  halfErrorTime?: number;
  /** Learning time given by the caller (`TrialExtras.learningTime`). */
  callerLearningTime?: number;
  /** Resolved at finish: caller, else learning-curve finding, else half-error. */
  learningTime?: number;
  learningTimeSource?: LearningTimeSource;
}

/** Trials that share every swept value except the seed. */
export interface GroupInfo {
  index: number;
  /** Swept values (seed excluded) as JSON text by axis path. */
  params: Readonly<Record<string, string>>;
  /** Short human label, e.g. `norm=2, lr=0.1`. */
  label: string;
  trials: number;
}

/** A named probe input and its downsampled output series. */
export interface ProbeSeries {
  name: string;
  x: readonly number[];
  values: number[];
}

/** A closed-form curve for one trial, e.g. from the engine's theory module. */
export interface TheoryCurve {
  /** `error` for the training error, `probeOutputs` for a probe's output. */
  quantity: 'error' | 'probeOutputs';
  /** Probe index when `quantity` is `probeOutputs`. @default 0 */
  index?: number;
  steps: readonly number[];
  values: readonly number[];
  /** Legend text. @default 'theory' */
  label?: string;
}

/** A trial's series as plotted: downsampled in log time, gradient shares reduced to the top features. */
export interface TrialSeries {
  trialId: string;
  group: number;
  steps: number[];
  error: number[];
  loss: number[];
  probes: ProbeSeries[];
  /** Per-feature gradient shares of the largest features plus the rest summed (feature -1). */
  gradShare?: { feature: number; values: number[] }[];
  theory: TheoryCurve[];
  lossKind: string;
  lossMargin: number;
  /** Frequencies of the features dataset, by feature (empty for other data kinds). */
  featureFrequencies: number[];
  /** Which features carry label information (features dataset). */
  featureInformative: boolean[];
}

/** Slope of ln(learning time) against ln(x) from a convergence-speed finding, with its confidence interval. */
export interface SlopeFit {
  slope: number;
  low?: number;
  high?: number;
}

/** Everything the figures and the HTML page read. */
export interface ReportData {
  sweepId: string;
  sweepName: string;
  title: string;
  /** Swept paths (seed excluded), in the sweep's order. */
  axes: string[];
  trials: TrialRecord[];
  groups: GroupInfo[];
  series: ReadonlyMap<string, TrialSeries>;
  /** Fitted sigmoids by trial: the training error's, and each probe's by probe index. */
  sigmoids: ReadonlyMap<string, { error?: FittedSigmoid; probes: Map<number, FittedSigmoid> }>;
  convergence: { norm?: SlopeFit; frequency?: SlopeFit };
  /** The convergence-speed analyzer's learning-time points (norm, frequency, gradient-flow time). */
  speedPoints: SpeedPoint[];
  /** Trials flagged by failed-training findings; undefined when no such finding arrived. */
  failedTrials?: ReadonlySet<string>;
  /** Knock-out counterfactual ratios: response to `feature` with `otherFeature` present over without. */
  counterfactuals: { ratio: number; feature?: number; otherFeature?: number }[];
  /** Learning-time ratios (cross-entropy over hinge) of loss-comparison findings. */
  lossTimeRatios: number[];
  findings: {
    total: number;
    /** The findings listed in the report (most severe first, bounded). */
    listed: Finding[];
    counts: { analyzer: string; kind: string; severity: string; count: number }[];
  };
  /** Trials whose series were not kept for plots (over the plot budget). */
  unplottedTrials: number;
}
