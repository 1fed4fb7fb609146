/**
 * convergence-speed (per sweep): how learning time scales with a feature's input norm and its
 * frequency. The theory says time ~ 1/(p r) at a fixed initial output, so the regression of
 * ln(learning time) on ln(norm) and ln(frequency) should give slopes of -1.
 *
 * A point is one probed feature of one trial: its learning time is the gradient-flow time
 * (lr * step) at which its response on a carrying sample first reaches `level` (a fixed output, not
 * a fraction of the final one: the final output itself grows with p r, which would bias the slope).
 * A trial without probes gives one point from its training error (half-way from first to last
 * value) when its data has exactly one informative feature present. The regressors that vary across
 * the points are fitted together (ordinary least squares), each slope with a t-based confidence interval.
 */
import { z } from 'zod';
import type { CompiledTrial } from '@dynlab/spec';
import { defineAnalyzer } from '../define-analyzer';
import { fitLinear } from '../fit-linear';
import { crossingStep, flowTime, halfwayStep } from '../learning-time';
import { featureResponses } from '../series';

export const convergenceSpeedOptions = z
  .object({
    /** The output on a carrying sample that counts as learned. @default 0.5 */
    level: z.number().positive().default(0.5),
    /** Confidence level of the slope intervals. @default 0.95 */
    confidence: z.number().gt(0).lt(1).default(0.95),
    /** A slope further than this from the theory's -1 (and with an interval excluding it) is flagged. @default 0.15 */
    tolerance: z.number().positive().default(0.15),
    /** Emit one `learning-time` finding per point (for plots). @default true */
    points: z.boolean().default(true),
  })
  .strict();

/** One regression point. */
export interface SpeedPoint {
  trialId: string;
  feature: number;
  norm: number;
  frequency: number;
  step: number;
  time: number;
}

/** The points a trial contributes (see the module comment). */
export function speedPoints(
  trial: CompiledTrial,
  series: Parameters<typeof featureResponses>[1],
  level: number,
): SpeedPoint[] {
  if (trial.data.kind !== 'features') return [];
  const features = trial.data.features;
  const usable = (j: number) => {
    const f = features[j];
    return f !== undefined && f.informative && !f.knockedOut && f.norm > 0 && f.frequency > 0;
  };
  const point = (j: number, step: number | undefined): SpeedPoint[] =>
    step !== undefined && step > 0
      ? [
          {
            trialId: trial.id,
            feature: j,
            norm: features[j]!.norm,
            frequency: features[j]!.frequency,
            step,
            time: flowTime(trial, step),
          },
        ]
      : [];
  const responses = featureResponses(trial, series).filter((r) => usable(r.feature));
  if (responses.length > 0)
    return responses.flatMap((r) => point(r.feature, crossingStep(series.steps, r.values, level)));
  const present = features.flatMap((_, j) => (usable(j) ? [j] : []));
  if (present.length !== 1 || series.error.length !== series.steps.length) return [];
  return point(present[0]!, halfwayStep(series.steps, series.error));
}

export const convergenceSpeedAnalyzer = defineAnalyzer({
  name: 'convergence-speed',
  version: '1.0.0',
  description:
    'Regresses log learning time on log input norm and log feature frequency across a sweep; theory: slopes of -1.',
  options: convergenceSpeedOptions,
  perSweep: true,
  setup(ctx, o) {
    const points: SpeedPoint[] = [];
    return {
      onTrialEnd(trial, outcome, series) {
        if (outcome.status !== 'ok') return;
        const found = speedPoints(trial, series, o.level);
        points.push(...found);
        if (o.points)
          for (const p of found)
            ctx.emit({
              kind: 'learning-time',
              trialId: trial.id,
              discriminator: `feature:${p.feature}`,
              evidence: {
                feature: p.feature,
                norm: p.norm,
                frequency: p.frequency,
                learningStep: p.step,
                learningTime: p.time,
                level: o.level,
              },
              message: `feature ${p.feature} (norm ${p.norm}, frequency ${p.frequency}) reached output ${o.level} at step ${Number(p.step.toPrecision(4))}`,
            });
      },
      onSweepEnd() {
        const regressors = [
          { name: 'norm', code: 0, of: (p: SpeedPoint) => Math.log(p.norm) },
          { name: 'frequency', code: 1, of: (p: SpeedPoint) => Math.log(p.frequency) },
        ].filter((r) => new Set(points.map((p) => r.of(p))).size > 1);
        if (regressors.length === 0 || points.length === 0) {
          ctx.logger.debug('no norm or frequency varies across the learning times; no regression', {
            points: points.length,
          });
          return;
        }
        const fit = fitLinear(
          points.map((p) => regressors.map((r) => r.of(p))),
          points.map((p) => Math.log(p.time)),
          o.confidence,
        );
        if (!fit) {
          ctx.logger.debug('too few points for a regression with intervals', {
            points: points.length,
            regressors: regressors.length,
          });
          return;
        }
        regressors.forEach((r, k) => {
          const c = fit.slopes[k]!;
          const deviation = c.estimate + 1;
          const flagged = Math.abs(deviation) > o.tolerance && (c.ciLow > -1 || c.ciHigh < -1);
          const fmt = (v: number) => Number(v.toPrecision(3));
          ctx.emit({
            kind: 'convergence-slope',
            severity: flagged ? 'warning' : 'info',
            discriminator: r.name,
            evidence: {
              slope: c.estimate,
              stderr: c.stderr,
              ciLow: c.ciLow,
              ciHigh: c.ciHigh,
              confidence: fit.confidence,
              theory: -1,
              deviation,
              points: fit.n,
              r2: fit.r2,
              intercept: fit.intercept,
              regressor: r.code,
              regressors: regressors.length,
              level: o.level,
            },
            message: `ln(learning time) vs ln(${r.name}): slope ${fmt(c.estimate)} (${Math.round(fit.confidence * 100)}% CI ${fmt(c.ciLow)} to ${fmt(c.ciHigh)}, theory -1) over ${fit.n} points`,
          });
        });
      },
    };
  },
});
