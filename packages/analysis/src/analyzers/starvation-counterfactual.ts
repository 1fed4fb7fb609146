/**
 * starvation-counterfactual (per sweep): how much of the response to a feature another feature
 * takes away. Two trials pair when they are identical except for one other feature k: knocked out
 * in one of them (the papers' counterfactual), or weaker (a smaller frequency times norm). With the
 * same seed they share their samples and initial weights. For every informative feature j present
 * in both and probed (the probe that looks at j alone), the ratio of its final response in the trial
 * where k is stronger to that where k is weaker or absent: a ratio well below 1 is gradient
 * starvation (k, once learned, left j little gradient).
 *
 * Why strength pairs as well as knock-outs: spectral decoupling decouples a feature's response
 * from the strength of the others (the Gradient Starvation paper's analysis: the steady state of
 * each feature's response depends on its own singular value only), not from their removal, which
 * changes which samples the remaining features must fit; comparing two strengths is where the
 * remedy shows.
 * A summary per setting (the pair without its seed: for example each spectral-decoupling value)
 * averages the ratios over seeds.
 */
import { z } from 'zod';
import type { CompiledTrial, ParsedTrial, TelemetryColumns } from '@dynlab/spec';
import { defineAnalyzer } from '../define-analyzer';
import { featureResponses } from '../series';
import { comparisonKey, groupBy, paramEvidence } from '../trial-key';

export const starvationCounterfactualOptions = z
  .object({
    /** A ratio below this is starvation. @default 0.5 */
    threshold: z.number().positive().default(0.5),
    /** Responses in the weaker trial smaller than this are not compared (the feature was not learned at all). @default 0.001 */
    minResponse: z.number().min(0).default(0.001),
  })
  .strict();

type Feature = { frequency: number; norm: number; informative: boolean; knockedOut: boolean };

interface Summary {
  trial: CompiledTrial;
  features: Feature[];
  /** Final response per probed feature. */
  responses: Map<number, number>;
}

/** The final response to each feature that has a probe of its own (see `featureResponses`). */
export function finalResponses(
  trial: CompiledTrial,
  series: TelemetryColumns,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of featureResponses(trial, series)) {
    const last = r.values[r.values.length - 1];
    if (last !== undefined && Number.isFinite(last)) out.set(r.feature, last);
  }
  return out;
}

/** How much gradient a feature draws at the start: frequency times norm (0 when knocked out or uninformative). */
export function featureStrength(f: Feature): number {
  return f.knockedOut || !f.informative ? 0 : f.frequency * f.norm;
}

/** The spec with feature k blanked (so trials differing only in k share it), optionally without the seed. */
function keyWithout(trial: CompiledTrial, k: number, withSeed: boolean): string {
  return comparisonKey(trial, (b: ParsedTrial) => {
    const fs = b.data.features?.features;
    if (fs?.[k]) fs[k] = { frequency: 0, norm: 0, informative: false, knockedOut: false };
    if (!withSeed) {
      b.seed = 0;
      delete b.data.seed;
    }
  });
}

const fmt = (v: number) => Number(v.toPrecision(3));

export const starvationCounterfactualAnalyzer = defineAnalyzer({
  name: 'starvation-counterfactual',
  version: '1.0.0',
  description:
    'Ratio of the response to a feature with another feature present (or stronger) to that with it knocked out (or weaker), over pairs of trials; below the threshold is starvation.',
  options: starvationCounterfactualOptions,
  perSweep: true,
  setup(ctx, o) {
    const summaries: Summary[] = [];
    return {
      onTrialEnd(trial, outcome, series) {
        if (trial.data.kind !== 'features' || outcome.status !== 'ok') return;
        const responses = finalResponses(trial, series);
        if (responses.size > 0) summaries.push({ trial, features: trial.data.features, responses });
      },
      onSweepEnd() {
        const d = Math.max(0, ...summaries.map((s) => s.features.length));
        const varying = Array.from({ length: d }, (_, k) => k).filter(
          (k) => new Set(summaries.map((s) => JSON.stringify(s.features[k]))).size > 1,
        );
        const bySetting = new Map<
          string,
          {
            ratios: number[];
            first: Summary;
            j: number;
            k: number;
            strong: number;
            weak: number;
            knockout: boolean;
          }
        >();
        for (const k of varying) {
          for (const group of groupBy(summaries, (s) => keyWithout(s.trial, k, true)).values()) {
            for (const a of group)
              for (const b of group) {
                const strong = featureStrength(a.features[k]!),
                  weak = featureStrength(b.features[k]!);
                if (!(strong > weak)) continue;
                for (const [j, rStrong] of a.responses) {
                  const fj = a.features[j]!;
                  const rWeak = b.responses.get(j);
                  if (
                    j === k ||
                    !fj.informative ||
                    fj.knockedOut ||
                    rWeak === undefined ||
                    Math.abs(rWeak) < o.minResponse
                  )
                    continue;
                  const knockout = b.features[k]!.knockedOut;
                  const ratio = rStrong / rWeak;
                  const evidence = {
                    feature: j,
                    otherFeature: k,
                    knockout: knockout ? 1 : 0,
                    strengthWith: strong,
                    strengthWithout: weak,
                    responseWith: rStrong,
                    responseWithout: rWeak,
                    ratio,
                    threshold: o.threshold,
                    seed: a.trial.seed,
                  };
                  const discriminator = `feature:${j}:vs:${b.trial.id}`;
                  const what = knockout
                    ? `knocked out`
                    : `weaker (p r ${fmt(weak)} instead of ${fmt(strong)})`;
                  ctx.emit({
                    kind: 'counterfactual-ratio',
                    trialId: a.trial.id,
                    relatedTrials: [b.trial.id],
                    discriminator,
                    evidence,
                    message: `response to feature ${j} is ${fmt(ratio)}x (${fmt(rStrong)}) what it is with feature ${k} ${what} (${fmt(rWeak)})`,
                  });
                  if (ratio < o.threshold)
                    ctx.emit({
                      kind: 'starved-feature',
                      severity: 'warning',
                      trialId: a.trial.id,
                      relatedTrials: [b.trial.id],
                      discriminator,
                      evidence,
                      message: `feature ${j} is starved by feature ${k}: its response is ${fmt(ratio)}x what it learns with feature ${k} ${what} (threshold ${o.threshold})`,
                    });
                  const sk = [keyWithout(a.trial, k, false), j, k, strong, weak].join('\0');
                  const agg = bySetting.get(sk) ?? {
                    ratios: [],
                    first: a,
                    j,
                    k,
                    strong,
                    weak,
                    knockout,
                  };
                  agg.ratios.push(ratio);
                  bySetting.set(sk, agg);
                }
              }
          }
        }
        for (const [sk, agg] of bySetting) {
          const rs = agg.ratios;
          const mean = rs.reduce((x, y) => x + y, 0) / rs.length;
          const t = agg.first.trial;
          ctx.emit({
            kind: 'counterfactual-summary',
            severity: mean < o.threshold ? 'warning' : 'info',
            discriminator: sk,
            evidence: {
              ...paramEvidence(t),
              feature: agg.j,
              otherFeature: agg.k,
              knockout: agg.knockout ? 1 : 0,
              strengthWith: agg.strong,
              strengthWithout: agg.weak,
              pairs: rs.length,
              meanRatio: mean,
              minRatio: Math.min(...rs),
              maxRatio: Math.max(...rs),
              spectralDecoupling: t.regularizer.spectralDecoupling,
              weightDecay: t.regularizer.weightDecay,
            },
            message: `over ${rs.length} seed(s), the response to feature ${agg.j} is ${fmt(mean)}x with feature ${agg.k} at p r ${fmt(agg.strong)} what it is at ${fmt(agg.weak)} (spectral decoupling ${t.regularizer.spectralDecoupling})`,
          });
        }
        summaries.length = 0;
      },
    };
  },
});
