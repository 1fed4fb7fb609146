/**
 * modes: the probed features as modes of learning. The papers show that with a proper start,
 * learning splits into independent modes, each a sigmoid in log time with a learning time ~ 1/(p r).
 *
 * Per trial, the order in which the modes are learned: the step at which each response on a
 * carrying sample first reaches `level`, ranked, and compared with the theory's order (faster for a
 * larger p r; pairs whose p r differ by less than `tieTolerance` are not compared). Per sweep,
 * independence: for two trials that differ only in the data of other features (same seed), the
 * largest difference between the two trajectories of the unchanged mode relative to its largest
 * magnitude, interpolated onto common steps; at most `tolerance` is independent.
 */
import { z } from 'zod';
import type { CompiledTrial } from '@dynlab/spec';
import { defineAnalyzer } from '../define-analyzer';
import { crossingStep } from '../learning-time';
import { featureResponses, valueAt, type FeatureResponse } from '../series';
import { comparisonKey, groupBy } from '../trial-key';

export const modesOptions = z
  .object({
    /** Output on a carrying sample that counts as learned. @default 0.5 */
    level: z.number().positive().default(0.5),
    /** Relative trajectory difference up to which a mode is independent of the changed data. @default 0.05 */
    tolerance: z.number().positive().default(0.05),
    /** Relative difference in p r below which two modes are a tie for the theory's order. @default 0.05 */
    tieTolerance: z.number().min(0).default(0.05),
  })
  .strict();

interface ModeRun {
  trial: CompiledTrial;
  steps: number[];
  responses: FeatureResponse[];
}

/** The largest |a - b| over the union of both step lists (b interpolated in ln step), relative to the largest |a| or |b|. */
export function trajectoryDeviation(
  a: { steps: readonly number[]; values: readonly number[] },
  b: { steps: readonly number[]; values: readonly number[] },
): number {
  const steps = [...new Set([...a.steps, ...b.steps])].sort((x, y) => x - y);
  let dev = 0,
    peak = 0;
  for (const s of steps) {
    const va = valueAt(a.steps, a.values, s),
      vb = valueAt(b.steps, b.values, s);
    dev = Math.max(dev, Math.abs(va - vb));
    peak = Math.max(peak, Math.abs(va), Math.abs(vb));
  }
  return peak > 0 ? dev / peak : 0;
}

const fmt = (v: number) => Number(v.toPrecision(3));

export const modesAnalyzer = defineAnalyzer({
  name: 'modes',
  version: '1.0.0',
  description:
    "Probe outputs as modes: the order they are learned in, and whether a mode is independent of the other modes' data.",
  options: modesOptions,
  perSweep: true,
  setup(ctx, o) {
    const runs: ModeRun[] = [];
    return {
      onTrialEnd(trial, outcome, series) {
        if (outcome.status !== 'ok') return;
        const responses = featureResponses(trial, series);
        if (responses.length === 0) return;
        runs.push({ trial, steps: series.steps, responses });
        if (responses.length < 2) return;
        const features = trial.data.kind === 'features' ? trial.data.features : undefined;
        const times = responses.map((r) => ({
          feature: r.feature,
          step: crossingStep(series.steps, r.values, o.level),
          speed: features ? features[r.feature]!.frequency * features[r.feature]!.norm : NaN,
        }));
        const learned = times.filter((t) => t.step !== undefined).sort((a, b) => a.step! - b.step!);
        const evidence: Record<string, number> = {
          modes: responses.length,
          learned: learned.length,
          level: o.level,
        };
        learned.forEach((t, rank) => {
          evidence[`step.${t.feature}`] = t.step!;
          evidence[`rank.${t.feature}`] = rank;
        });
        let concordant = 0,
          discordant = 0;
        for (let a = 0; a < times.length; a++)
          for (let b = a + 1; b < times.length; b++) {
            const ta = times[a]!,
              tb = times[b]!;
            if (!(Math.abs(ta.speed - tb.speed) > o.tieTolerance * Math.max(ta.speed, tb.speed)))
              continue;
            const fasterByTheory = ta.speed > tb.speed ? ta : tb;
            const other = fasterByTheory === ta ? tb : ta;
            const first =
              fasterByTheory.step !== undefined &&
              (other.step === undefined || fasterByTheory.step <= other.step);
            if (first) concordant++;
            else discordant++;
          }
        if (features)
          Object.assign(evidence, { concordantPairs: concordant, discordantPairs: discordant });
        ctx.emit({
          kind: 'mode-order',
          severity: discordant > 0 ? 'warning' : 'info',
          trialId: trial.id,
          evidence,
          message: `modes learned in the order ${learned.map((t) => `feature ${t.feature}`).join(', ') || '(none reached the level)'}${features ? `; ${discordant} of ${concordant + discordant} pairs against the theory's order (faster for larger p r)` : ''}`,
        });
      },
      onSweepEnd() {
        const featureCount = (r: ModeRun) =>
          r.trial.data.kind === 'features' ? r.trial.data.features.length : 0;
        const maxFeatures = Math.max(0, ...runs.map(featureCount));
        for (let j = 0; j < maxFeatures; j++) {
          const withMode = runs.filter((r) => r.responses.some((x) => x.feature === j));
          const keyFor = (r: ModeRun) =>
            comparisonKey(r.trial, (b) => {
              const fs = b.data.features?.features;
              if (fs)
                fs.forEach(
                  (_, k) =>
                    k !== j &&
                    (fs[k] = { frequency: 0, norm: 0, informative: false, knockedOut: false }),
                );
            });
          for (const group of groupBy(withMode, keyFor).values()) {
            for (let a = 0; a < group.length; a++)
              for (let b = a + 1; b < group.length; b++) {
                const A = group[a]!,
                  B = group[b]!;
                const fa = A.trial.data.kind === 'features' ? A.trial.data.features : [];
                const fb = B.trial.data.kind === 'features' ? B.trial.data.features : [];
                const changed = fa.flatMap((f, k) =>
                  JSON.stringify(f) !== JSON.stringify(fb[k]) ? [k] : [],
                );
                if (changed.length === 0) continue;
                const ra = A.responses.find((x) => x.feature === j)!,
                  rb = B.responses.find((x) => x.feature === j)!;
                const deviation = trajectoryDeviation(
                  { steps: A.steps, values: ra.values },
                  { steps: B.steps, values: rb.values },
                );
                const independent = deviation <= o.tolerance;
                ctx.emit({
                  kind: 'mode-independence',
                  severity: 'info',
                  trialId: A.trial.id,
                  relatedTrials: [B.trial.id],
                  discriminator: `mode:${j}:vs:${B.trial.id}`,
                  evidence: {
                    feature: j,
                    changedFeatures: changed.length,
                    firstChangedFeature: changed[0]!,
                    deviation,
                    tolerance: o.tolerance,
                    independent: independent ? 1 : 0,
                  },
                  message: `mode ${j} ${independent ? 'is' : 'is not'} independent of feature ${changed.join(', ')}: its trajectory moves by ${fmt(100 * deviation)}% when that data changes`,
                });
              }
          }
        }
        runs.length = 0;
      },
    };
  },
});
