/**
 * The findings the report draws from, and the evidence keys it reads: those the built-in
 * analyzers of @dynlab/analysis emit. Evidence is a flat map of numbers, so the contract is a set
 * of analyzer names, kinds and key names, written down here in one place; every reader tolerates a
 * finding that lacks a key (the plot then falls back on the telemetry, or leaves that part out).
 *
 * - `learning-curve` / `learning-curve`, per trial: `learningStep` (step of the half-way point),
 *   `width` (in ln(step)), `start`, `end`; `probe` (probe index) on a probe's curve, absent on the
 *   training error's.
 * - `convergence-speed` / `learning-time`, per point: `norm`, `frequency`, `learningStep`,
 *   `learningTime` (gradient-flow time, lr x steps). `convergence-speed` / `convergence-slope`, per
 *   regressor: `slope`, `ciLow`, `ciHigh`, and `regressor` (0 norm, 1 frequency) when given; without
 *   it, the slopes come in the analyzer's order (norm, then frequency, each only when it varies).
 * - `failed-training` / `stuck-at-chance` and `diverged`, per trial: the trial failed to train.
 * - `starvation-counterfactual` / `counterfactual-ratio`: `ratio` (response to `feature` with
 *   `otherFeature` present over without it), `knockout` (1 when the other trial knocks it out).
 * - `loss-comparison` / `loss-comparison`: `timeRatio` (cross-entropy learning time over hinge's).
 */
import type { Finding } from '@dynlab/spec';
import type { FittedSigmoid } from './log-sigmoid';

/** Analyzer names the report reads. */
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

/** A learning-curve fit: which curve (probe index, -1 for the error), its learning step and its sigmoid. */
export interface CurveFit {
  probe: number;
  learningStep: number;
  /** Undefined when the finding gives no width (the curve cannot be redrawn). */
  sigmoid?: FittedSigmoid;
}

/** The fit of a learning-curve finding about one trial, if it is one. */
export function readCurveFit(f: Finding): CurveFit | undefined {
  if (f.analyzer !== findingNames.learningCurve || f.kind !== 'learning-curve' || f.trialId === '')
    return undefined;
  const learningStep = positive(f, 'learningStep');
  if (learningStep === undefined) return undefined;
  const probe = num(f, 'probe');
  const width = positive(f, 'width');
  return {
    probe: probe !== undefined && probe >= 0 ? Math.round(probe) : -1,
    learningStep,
    sigmoid:
      width === undefined
        ? undefined
        : { learningTime: learningStep, width, start: num(f, 'start'), end: num(f, 'end') },
  };
}

/** One learning-time point of the convergence-speed regression. */
export interface SpeedPoint {
  trialId: string;
  norm: number;
  frequency: number;
  /** Gradient-flow time (learning rate x steps). */
  time: number;
}

/** The regression point a convergence-speed `learning-time` finding gives. */
export function readSpeedPoint(f: Finding): SpeedPoint | undefined {
  if (f.analyzer !== findingNames.convergenceSpeed || f.kind !== 'learning-time') return undefined;
  const norm = positive(f, 'norm');
  const frequency = positive(f, 'frequency');
  const time = positive(f, 'learningTime');
  return norm === undefined || frequency === undefined || time === undefined
    ? undefined
    : { trialId: f.trialId, norm, frequency, time };
}

/** A fitted slope of ln(learning time) on ln(x). */
export interface SlopeFinding {
  slope: number;
  low?: number;
  high?: number;
  /** 'norm' or 'frequency' when the finding says which; undefined: by position. */
  regressor?: 'norm' | 'frequency';
}

/** The slope of a convergence-speed `convergence-slope` finding. */
export function readSlope(f: Finding): SlopeFinding | undefined {
  if (f.analyzer !== findingNames.convergenceSpeed || f.kind !== 'convergence-slope')
    return undefined;
  const slope = num(f, 'slope');
  if (slope === undefined) return undefined;
  const code = num(f, 'regressor');
  return {
    slope,
    low: num(f, 'ciLow'),
    high: num(f, 'ciHigh'),
    regressor: code === 0 ? 'norm' : code === 1 ? 'frequency' : undefined,
  };
}

/**
 * Names the slopes: a slope that says its regressor keeps it; the others take, in order, the
 * regressors that vary (norm first, then frequency), as the analyzer emits them.
 */
export function assignSlopes(
  slopes: readonly SlopeFinding[],
  varies: { norm: boolean; frequency: boolean },
): { norm?: SlopeFinding; frequency?: SlopeFinding } {
  const out: { norm?: SlopeFinding; frequency?: SlopeFinding } = {};
  const order = (['norm', 'frequency'] as const).filter((r) => varies[r]);
  let k = 0;
  for (const s of slopes) {
    const r = s.regressor ?? order[k++];
    if (r !== undefined) out[r] = s;
  }
  return out;
}

/** True for any finding of the failed-training analyzer (it ran on this sweep). */
export function isFailedTrainingFinding(f: Finding): boolean {
  return f.analyzer === findingNames.failedTraining;
}

/** True for a finding that says its trial failed to train (stuck at chance or diverged). */
export function isFailedTrial(f: Finding): boolean {
  return (
    isFailedTrainingFinding(f) &&
    f.trialId !== '' &&
    (f.kind === 'stuck-at-chance' || f.kind === 'diverged')
  );
}

/** The ratio of a knock-out counterfactual, with the observed feature and the knocked-out one. */
export function readCounterfactual(
  f: Finding,
): { ratio: number; feature?: number; otherFeature?: number } | undefined {
  if (
    f.analyzer !== findingNames.counterfactual ||
    f.kind !== 'counterfactual-ratio' ||
    num(f, 'knockout') === 0
  )
    return undefined;
  const ratio = num(f, 'ratio');
  if (ratio === undefined) return undefined;
  const feature = num(f, 'feature');
  const other = num(f, 'otherFeature');
  return {
    ratio,
    feature: feature === undefined ? undefined : Math.round(feature),
    otherFeature: other === undefined ? undefined : Math.round(other),
  };
}

/** The learning-time ratio (cross-entropy over hinge) of a loss-comparison pair. */
export function readLossTimeRatio(f: Finding): number | undefined {
  return f.analyzer === findingNames.lossComparison && f.kind === 'loss-comparison'
    ? num(f, 'timeRatio')
    : undefined;
}
