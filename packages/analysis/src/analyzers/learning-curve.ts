/**
 * learning-curve: the sigmoid in log time that the papers find in the training error and in the
 * outputs. For the error and for the response to each probed feature it fits
 * y = start + (end - start) * s((ln step - center) / width) and reports the learning time (the
 * half-way point, exp(center) steps, and in gradient-flow time lr * steps), the width, the plateau
 * (the steps before the curve has moved 10% of the way) and the fit's R^2; a curve whose fit
 * explains less than `minR2` of its variance is flagged as not sigmoidal. When the trial is one of
 * the closed-form cases (see `closedFormCase`) and a theory is injected, the observed mode is
 * compared with the theory curve point by point.
 *
 * The analyzer is built by `createLearningCurveAnalyzer` so that the engine's theory can be passed
 * in without this package depending on the engine; `learningCurveAnalyzer` is the built-in without it.
 */
import { z } from 'zod';
import type { CompiledTrial, TelemetryColumns } from '@dynlab/spec';
import { closedFormCase, theoryOutput, type ModeTheory } from '../closed-form-case';
import { defineAnalyzer, type FindingInput } from '../define-analyzer';
import { fitSigmoid, type SigmoidFit } from '../fit-sigmoid';
import { crossingStep, flowTime } from '../learning-time';
import { featureResponses, probeColumn, probeScale } from '../series';

export const learningCurveOptions = z
  .object({
    /** A fit with R^2 below this is not a sigmoid. @default 0.95 */
    minR2: z.number().min(0).max(1).default(0.95),
    /** The error must move at least this much (absolute) to be fitted. @default 0.02 */
    minErrorChange: z.number().min(0).default(0.02),
    /** A response must move at least this fraction of its largest magnitude to be fitted. @default 0.1 */
    minResponseChange: z.number().min(0).max(1).default(0.1),
    /** Fit the responses to probed features as well as the error. @default true */
    probes: z.boolean().default(true),
    /** The largest relative deviation from the theory curve that is still agreement. @default 0.1 */
    theoryTolerance: z.number().positive().default(0.1),
    /** Theory points whose output is below this fraction of the largest are not compared (relative error of tiny numbers). @default 0.01 */
    theoryFloor: z.number().min(0).max(1).default(0.01),
  })
  .strict();

export type LearningCurveOptions = z.output<typeof learningCurveOptions>;

/** What a fitted curve says, as evidence. */
export interface CurveSummary {
  fit: SigmoidFit;
  learningStep: number;
  plateauSteps: number;
  /** Decades of steps over which the curve goes from 10% to 90% of the way. */
  riseDecades: number;
  /** Whether the half-way point lies inside the recorded steps. */
  complete: boolean;
}

/** Fits the sigmoid to a recorded curve in ln(step) (step 0 is left out); undefined when there are too few points. */
export function summarizeCurve(
  steps: readonly number[],
  values: readonly number[],
): CurveSummary | undefined {
  const u: number[] = [];
  const y: number[] = [];
  steps.forEach((s, i) => {
    if (s > 0) {
      u.push(Math.log(s));
      y.push(values[i]!);
    }
  });
  const fit = fitSigmoid(u, y);
  if (!fit) return undefined;
  return {
    fit,
    learningStep: Math.exp(fit.center),
    plateauSteps: Math.exp(fit.center - fit.width * Math.log(9)),
    riseDecades: (2 * Math.log(9) * fit.width) / Math.LN10,
    complete: fit.center >= Math.min(...u) && fit.center <= Math.max(...u),
  };
}

/** Creates the learning-curve analyzer, optionally with the engine's closed-form theory. */
export function createLearningCurveAnalyzer(deps: { theory?: ModeTheory } = {}) {
  return defineAnalyzer({
    name: 'learning-curve',
    version: '1.0.0',
    description:
      'Sigmoid fits in log time to the training error and the probed responses: learning time, width, plateau, and the deviation from the closed-form theory.',
    options: learningCurveOptions,
    setup(ctx, o) {
      return {
        onTrialEnd(trial, _outcome, series) {
          for (const f of curveFindings(trial, series, o, deps.theory)) ctx.emit(f);
        },
      };
    },
  });
}

/** The findings of one trial (exported for tests and offline use). */
export function curveFindings(
  trial: CompiledTrial,
  series: TelemetryColumns,
  o: LearningCurveOptions,
  theory?: ModeTheory,
): FindingInput[] {
  const out: FindingInput[] = [];
  const curve = (
    what: string,
    extra: Record<string, number>,
    values: number[],
    minChange: number,
  ) => {
    if (values.length !== series.steps.length || values.length < 4) return;
    const change = Math.max(...values) - Math.min(...values);
    if (!(change >= minChange)) return;
    const c = summarizeCurve(series.steps, values);
    if (!c) return;
    const sigmoidal = c.fit.r2 >= o.minR2;
    const evidence = {
      ...extra,
      learningStep: c.learningStep,
      learningTime: flowTime(trial, c.learningStep),
      width: c.fit.width,
      riseDecades: c.riseDecades,
      plateauSteps: c.plateauSteps,
      start: c.fit.start,
      end: c.fit.end,
      r2: c.fit.r2,
      rmse: c.fit.rmse,
      complete: c.complete ? 1 : 0,
      sigmoidal: sigmoidal ? 1 : 0,
    };
    const fmt = (v: number) => Number(v.toPrecision(3));
    out.push({
      kind: 'learning-curve',
      trialId: trial.id,
      discriminator: what,
      evidence,
      message: `${what}: sigmoid in log time, half-way at step ${fmt(c.learningStep)}${c.complete ? '' : ' (outside the recorded steps)'}, 10-90% over ${fmt(c.riseDecades)} decades, R^2 ${fmt(c.fit.r2)}`,
    });
    if (!sigmoidal)
      out.push({
        kind: 'non-sigmoidal',
        severity: 'warning',
        trialId: trial.id,
        discriminator: what,
        evidence: { ...extra, r2: c.fit.r2, minR2: o.minR2, rmse: c.fit.rmse },
        message: `${what} is not sigmoidal in log time: the best sigmoid explains ${fmt(c.fit.r2)} of its variance (below ${o.minR2})`,
      });
  };

  if (series.error.length === series.steps.length)
    curve('error', { signal: 0 }, series.error, o.minErrorChange);
  const responses = o.probes ? featureResponses(trial, series) : [];
  for (const r of responses) {
    const peak = Math.max(...r.values.map(Math.abs));
    curve(
      `probe:${r.probe}`,
      { signal: 1, probe: r.probe, feature: r.feature },
      r.values,
      o.minResponseChange * peak,
    );
  }

  const cf = theory ? closedFormCase(trial) : undefined;
  const raw = cf ? probeColumn(series, cf.probe) : [];
  if (theory && cf && raw.length === series.steps.length && raw.length > 0) {
    // The output on the carrier x = r: the probe's output scaled by r / (the probe's value).
    const observed = { values: raw.map((v) => (v * cf.mode.r) / probeScale(trial, cf.probe)) };
    const predicted = series.steps.map((s) => theoryOutput(theory, cf, flowTime(trial, s)));
    const peak = Math.max(...predicted);
    let max = 0,
      sum = 0,
      count = 0;
    predicted.forEach((p, i) => {
      if (!(p >= o.theoryFloor * peak)) return;
      const dev = Math.abs(observed.values[i]! - p) / p;
      max = Math.max(max, dev);
      sum += dev;
      count++;
    });
    const level = cf.loss === 'hinge' ? cf.margin / 2 : 0.5;
    const observedStep = crossingStep(series.steps, observed.values, level);
    const theoryStep = crossingStep(series.steps, predicted, level);
    const ok = max <= o.theoryTolerance;
    out.push({
      kind: 'theory-comparison',
      severity: ok ? 'info' : 'warning',
      trialId: trial.id,
      discriminator: `probe:${cf.probe}`,
      evidence: {
        probe: cf.probe,
        p: cf.mode.p,
        r: cf.mode.r,
        f0: cf.mode.f0,
        hinge: cf.loss === 'hinge' ? 1 : 0,
        maxDeviation: max,
        meanDeviation: count > 0 ? sum / count : 0,
        points: count,
        level,
        ...(observedStep !== undefined ? { observedStep } : {}),
        ...(theoryStep !== undefined ? { theoryStep } : {}),
      },
      message: `the mode ${ok ? 'follows' : 'departs from'} the closed-form ${cf.loss} curve: largest relative deviation ${Number(max.toPrecision(3))} over ${count} points (tolerance ${o.theoryTolerance})`,
    });
  }
  return out;
}

/** The built-in learning-curve analyzer (no theory injected: no theory comparison). */
export const learningCurveAnalyzer = createLearningCurveAnalyzer();
