/**
 * gradient-share: which features took the gradient while the network was learning, and which
 * informative features were starved of it.
 *
 * The share g_j(t) (recorded by the engine) is integrated over the time the loss was falling
 * (steps between records weighted by their length; intervals where the loss did not fall, such as a
 * hinge loss at rest or a stuck trial, are left out). A feature's expected share is what its
 * frequency p_j and norm r_j alone would give at the start of training, when the gradient on
 * feature j is proportional to p_j r_j: e_j = (p_j r_j)^2 / sum_k (p_k r_k)^2 over the informative
 * features present. A feature is starved when its integrated share stays below `starvedRatio` e_j
 * while another feature holds at least `dominantShare`: the frequent feature, once learned, shrinks
 * the loss on the samples that also carry the rare one, so the rare one stops receiving gradient.
 */
import { z } from 'zod';
import type { CompiledTrial, TelemetryColumns } from '@dynlab/spec';
import { defineAnalyzer } from '../define-analyzer';
import { gradShareColumn } from '../series';

export const gradientShareOptions = z
  .object({
    /** Starved when the integrated share is below this fraction of the expected share. @default 0.5 */
    starvedRatio: z.number().positive().default(0.5),
    /** ...while another feature's integrated share is at least this. @default 0.5 */
    dominantShare: z.number().min(0).max(1).default(0.5),
    /** Features whose expected share is below this are never called starved (too small to tell). @default 0.001 */
    minExpectedShare: z.number().min(0).max(1).default(0.001),
    /** The loss fell over an interval when it dropped by more than this fraction of its value. @default 1e-7 */
    lossDropTolerance: z.number().min(0).default(1e-7),
    /** Features listed in the summary's evidence (largest integrated share first). @default 16 */
    maxFeatures: z.number().int().positive().default(16),
  })
  .strict();

/** Integrated gradient shares of a series, and how much of the recorded time the loss was falling. */
export interface IntegratedShares {
  /** Per feature, the time-average of its share over the intervals where the loss fell (sums to 1, or all 0). */
  shares: number[];
  /** Steps over which the loss fell. */
  fallingSteps: number;
  /** Steps recorded (last minus first). */
  totalSteps: number;
}

/**
 * Integrates the gradient shares over the intervals where the loss fell (trapezoid rule in steps;
 * rows whose shares are all zero, a zero gradient, contribute nothing).
 */
export function integratedShares(s: TelemetryColumns, lossDropTolerance = 1e-7): IntegratedShares {
  const d = s.features;
  const rows = s.steps.length;
  const shares = new Array<number>(d).fill(0);
  let fallingSteps = 0;
  if (d === 0 || rows < 2 || s.gradShare.length !== rows * d || s.loss.length !== rows)
    return { shares, fallingSteps, totalSteps: rows > 1 ? s.steps[rows - 1]! - s.steps[0]! : 0 };
  const columns = Array.from({ length: d }, (_, j) => gradShareColumn(s, j));
  let weight = 0;
  for (let i = 1; i < rows; i++) {
    const l0 = s.loss[i - 1]!,
      l1 = s.loss[i]!;
    const dt = s.steps[i]! - s.steps[i - 1]!;
    if (!(l1 < l0 - lossDropTolerance * Math.abs(l0)) || dt <= 0) continue;
    fallingSteps += dt;
    let sum = 0;
    for (let j = 0; j < d; j++) sum += columns[j]![i - 1]! + columns[j]![i]!;
    if (!(sum > 0)) continue;
    for (let j = 0; j < d; j++) shares[j]! += (dt * (columns[j]![i - 1]! + columns[j]![i]!)) / sum;
    weight += dt;
  }
  if (weight > 0) for (let j = 0; j < d; j++) shares[j] = shares[j]! / weight;
  return { shares, fallingSteps, totalSteps: s.steps[rows - 1]! - s.steps[0]! };
}

/**
 * The share of the gradient each feature's frequency and norm alone would give:
 * (p_j r_j)^2 normalized over the informative features present; undefined unless the data is the
 * features model.
 */
export function expectedShares(trial: CompiledTrial): number[] | undefined {
  if (trial.data.kind !== 'features') return undefined;
  const raw = trial.data.features.map((f) =>
    f.informative && !f.knockedOut ? (f.frequency * f.norm) ** 2 : 0,
  );
  const total = raw.reduce((a, b) => a + b, 0);
  return total > 0 ? raw.map((v) => v / total) : undefined;
}

const fmt = (v: number) => Number(v.toPrecision(3));

export const gradientShareAnalyzer = defineAnalyzer({
  name: 'gradient-share',
  version: '1.0.0',
  description:
    'Per-feature gradient shares integrated while the loss falls; flags informative features starved of gradient.',
  options: gradientShareOptions,
  setup(ctx, o) {
    return {
      onTrialEnd(trial, _outcome, series) {
        if (series.gradShare.length === 0 || series.features === 0) return;
        const { shares, fallingSteps, totalSteps } = integratedShares(series, o.lossDropTolerance);
        if (fallingSteps === 0 || shares.every((v) => v === 0)) return;
        const order = shares.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]);
        const [dominantShare, dominant] = order[0]!;
        const expected = expectedShares(trial);
        const evidence: Record<string, number> = {
          features: series.features,
          dominant,
          dominantShare,
          fallingSteps,
          totalSteps,
        };
        for (const [v, j] of order.slice(0, o.maxFeatures)) {
          evidence[`share.${j}`] = v;
          if (expected) evidence[`expected.${j}`] = expected[j]!;
        }
        ctx.emit({
          kind: 'gradient-share',
          trialId: trial.id,
          evidence,
          message: `feature ${dominant} held ${fmt(dominantShare)} of the first-layer gradient while the loss fell`,
        });
        if (!expected || trial.data.kind !== 'features') return;
        const features = trial.data.features;
        shares.forEach((share, j) => {
          const e = expected[j]!;
          if (e < o.minExpectedShare || share >= o.starvedRatio * e) return;
          const other = order.find(([, k]) => k !== j);
          if (!other || other[0] < o.dominantShare) return;
          const f = features[j]!;
          ctx.emit({
            kind: 'starved-feature',
            severity: 'warning',
            trialId: trial.id,
            discriminator: `feature:${j}`,
            evidence: {
              feature: j,
              share,
              expectedShare: e,
              ratio: share / e,
              dominant: other[1],
              dominantShare: other[0],
              frequency: f.frequency,
              norm: f.norm,
              threshold: o.starvedRatio,
            },
            message: `feature ${j} (frequency ${f.frequency}, norm ${f.norm}) held ${fmt(share)} of the gradient while the loss fell, ${fmt(share / e)}x the ${fmt(e)} its frequency and norm alone would give; feature ${other[1]} took ${fmt(other[0])}`,
          });
        });
      },
    };
  },
});
