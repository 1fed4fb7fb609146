/**
 * The findings the report draws from, and the evidence keys it reads. Evidence is a flat map of
 * numbers, so the contract with the analyzers is a set of key names; it is written down here, in
 * one place, and every reader tolerates a finding that lacks a key (the plot then falls back on
 * the telemetry, or leaves that part out).
 *
 * - `learning-curve` analyzer, per trial: `learningTime` (step of the half-way point, > 0),
 *   `width` (transition width in ln(step), > 0), optional `start` and `end` (the plateaus),
 *   optional `probe` (probe index; absent or negative: the training error).
 * - `convergence-speed` analyzer, per sweep: `slope` with the regressor named by the kind
 *   (containing `norm` or `frequency`), or `normSlope` / `frequencySlope`; optional `intercept`
 *   (`normIntercept`, `frequencyIntercept`) of ln(learning time) on ln(x), and a confidence
 *   interval `slopeLow` / `slopeHigh` (`normSlopeLow`, ...).
 * - `failed-training` kind with a trial id: that trial failed to train.
 * - `starvation-counterfactual` analyzer: `ratio` (the rare feature's learned response with the
 *   frequent feature present over without it), optional `feature` (the starved feature's index).
 * - `loss-comparison` analyzer: `timeRatio` (cross-entropy learning time over hinge's).
 */
import type { Finding } from '@dynlab/spec';
import type { FittedSigmoid } from './log-sigmoid';
import type { SlopeFit } from './report-data';

/** Analyzer and kind names the report recognizes. */
export const findingNames = {
  learningCurve: 'learning-curve',
  convergenceSpeed: 'convergence-speed',
  failedTraining: 'failed-training',
  counterfactual: 'starvation-counterfactual',
  lossComparison: 'loss-comparison',
} as const;

const num = (f: Finding, key: string): number | undefined => {
  const v = f.evidence[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const positive = (f: Finding, key: string): number | undefined => {
  const v = num(f, key);
  return v !== undefined && v > 0 ? v : undefined;
};

/** A learning-curve fit: which curve (probe index, -1 for the error) and the sigmoid's numbers. */
export interface CurveFit {
  probe: number;
  learningTime: number;
  /** Undefined when the finding gives no width (the curve cannot be redrawn). */
  sigmoid?: FittedSigmoid;
}

/** The fit of a learning-curve finding about one trial, if it is one. */
export function readCurveFit(f: Finding): CurveFit | undefined {
  if (f.analyzer !== findingNames.learningCurve || f.trialId === '') return undefined;
  const learningTime = positive(f, 'learningTime');
  if (learningTime === undefined) return undefined;
  const probe = num(f, 'probe');
  const width = positive(f, 'width');
  return {
    probe: probe !== undefined && probe >= 0 ? Math.round(probe) : -1,
    learningTime,
    sigmoid:
      width === undefined
        ? undefined
        : { learningTime, width, start: num(f, 'start'), end: num(f, 'end') },
  };
}

/** The regression slopes a convergence-speed finding reports, by regressor. */
export function readSlopes(f: Finding): { norm?: SlopeFit; frequency?: SlopeFit } {
  if (f.analyzer !== findingNames.convergenceSpeed) return {};
  const out: { norm?: SlopeFit; frequency?: SlopeFit } = {};
  for (const regressor of ['norm', 'frequency'] as const) {
    const prefixed = num(f, `${regressor}Slope`);
    const plain = f.kind.includes(regressor) ? num(f, 'slope') : undefined;
    const slope = prefixed ?? plain;
    if (slope === undefined) continue;
    const key = (k: string) =>
      prefixed !== undefined ? `${regressor}${k[0]!.toUpperCase()}${k.slice(1)}` : k;
    out[regressor] = {
      slope,
      intercept: num(f, key('intercept')),
      low: num(f, key('slopeLow')),
      high: num(f, key('slopeHigh')),
    };
  }
  return out;
}

/** True for a finding that says its trial failed to train. */
export function isFailedTraining(f: Finding): boolean {
  return f.kind === findingNames.failedTraining && f.trialId !== '';
}

/** The ratio (and starved feature) of a starvation-counterfactual finding. */
export function readCounterfactual(f: Finding): { ratio: number; feature?: number } | undefined {
  if (f.analyzer !== findingNames.counterfactual) return undefined;
  const ratio = num(f, 'ratio');
  if (ratio === undefined) return undefined;
  const feature = num(f, 'feature');
  return { ratio, feature: feature === undefined ? undefined : Math.round(feature) };
}

/** The learning-time ratio of a loss-comparison finding. */
export function readLossTimeRatio(f: Finding): number | undefined {
  return f.analyzer === findingNames.lossComparison ? num(f, 'timeRatio') : undefined;
}
