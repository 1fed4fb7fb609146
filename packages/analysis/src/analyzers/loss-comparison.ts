/**
 * loss-comparison (per sweep): cross-entropy against hinge on otherwise identical trials. The
 * theory: while the output is small, the hinge gradient is the full input and the logistic one half
 * of it, so hinge learns about twice as fast; hinge stops in finite time once every carrier reaches
 * the margin, while cross-entropy never stops (its margin keeps growing, like ln t).
 *
 * Trials pair when their specs are equal without the loss kind and margin (same seed). The response
 * is the output on a sample carrying the first probed informative feature (see `featureResponses`);
 * the learning time is when it first reaches `level` (capped at half the hinge margin so that hinge
 * can reach it); hinge stopped when its final response is within `stopTolerance` of the margin and
 * stayed there from the step it got there; the cross-entropy growth is the least-squares slope of
 * its response against ln(step) over the last half of the recorded log time.
 */
import { z } from 'zod';
import type { CompiledTrial, TelemetryColumns } from '@dynlab/spec';
import { defineAnalyzer } from '../define-analyzer';
import { fitLinear } from '../fit-linear';
import { crossingStep, flowTime } from '../learning-time';
import { featureResponses } from '../series';
import { comparisonKey } from '../trial-key';

export const lossComparisonOptions = z
  .object({
    /** Output on a carrying sample that counts as learned (capped at half the hinge margin). @default 0.5 */
    level: z.number().positive().default(0.5),
    /** Relative distance from the margin within which hinge has stopped. @default 0.05 */
    stopTolerance: z.number().positive().default(0.05),
  })
  .strict();

interface Run {
  trial: CompiledTrial;
  key: string;
  steps: number[];
  response: number[];
}

/** Least-squares slope of `values` against ln(step) over the last half of the recorded ln-step range. */
export function lateLogSlope(
  steps: readonly number[],
  values: readonly number[],
): number | undefined {
  const pts = steps.flatMap((s, i) =>
    s > 0 && Number.isFinite(values[i]) ? [[Math.log(s), values[i]!] as const] : [],
  );
  if (pts.length < 3) return undefined;
  const mid = (pts[0]![0] + pts[pts.length - 1]![0]) / 2;
  const late = pts.filter(([u]) => u >= mid);
  const fit =
    late.length >= 3
      ? fitLinear(
          late.map(([u]) => [u]),
          late.map(([, v]) => v),
        )
      : undefined;
  return fit?.slopes[0]?.estimate;
}

/** When (and whether) a hinge response reached its margin and stayed there. */
export function hingeStop(
  steps: readonly number[],
  response: readonly number[],
  margin: number,
  tolerance: number,
): { stopped: boolean; stopStep?: number; final: number } {
  const final = response[response.length - 1] ?? NaN;
  const i = response.findIndex((v) => Math.abs(v - margin) <= tolerance * margin);
  if (i < 0) return { stopped: false, final };
  const stayed = response.slice(i).every((v) => Math.abs(v - margin) <= tolerance * margin);
  return { stopped: stayed, stopStep: steps[i], final };
}

const fmt = (v: number) => Number(v.toPrecision(3));

export const lossComparisonAnalyzer = defineAnalyzer({
  name: 'loss-comparison',
  version: '1.0.0',
  description:
    'Pairs trials that differ only in loss (cross-entropy vs hinge): learning-time ratio, hinge stopping at its margin, cross-entropy margin growth.',
  options: lossComparisonOptions,
  perSweep: true,
  setup(ctx, o) {
    const runs: Run[] = [];
    return {
      onTrialEnd(trial, outcome, series: TelemetryColumns) {
        if (
          outcome.status !== 'ok' ||
          (trial.loss.kind !== 'logistic' && trial.loss.kind !== 'hinge')
        )
          return;
        const features = trial.data.kind === 'features' ? trial.data.features : undefined;
        const r = featureResponses(trial, series).find(
          (x) =>
            !features || (features[x.feature]?.informative && !features[x.feature]?.knockedOut),
        );
        if (!r) {
          ctx.logger.debug('no probe on a feature: the trial is not compared', { trial: trial.id });
          return;
        }
        const key = comparisonKey(trial, (b) => {
          b.loss = { ...b.loss, kind: 'logistic', margin: 1 };
        });
        runs.push({ trial, key, steps: series.steps, response: r.values });
      },
      onSweepEnd() {
        const ratios: number[] = [];
        let stopped = 0;
        for (const hinge of runs.filter((r) => r.trial.loss.kind === 'hinge')) {
          for (const ce of runs.filter(
            (r) => r.trial.loss.kind === 'logistic' && r.key === hinge.key,
          )) {
            const margin = hinge.trial.loss.margin;
            const level = Math.min(o.level, margin / 2);
            const tH = crossingStep(hinge.steps, hinge.response, level);
            const tC = crossingStep(ce.steps, ce.response, level);
            const stop = hingeStop(hinge.steps, hinge.response, margin, o.stopTolerance);
            const growth = lateLogSlope(ce.steps, ce.response);
            const timeRatio =
              tH !== undefined && tC !== undefined
                ? flowTime(ce.trial, tC) / flowTime(hinge.trial, tH)
                : undefined;
            if (timeRatio !== undefined) ratios.push(timeRatio);
            if (stop.stopped) stopped++;
            const evidence: Record<string, number> = {
              margin,
              level,
              hingeStopped: stop.stopped ? 1 : 0,
              hingeFinal: stop.final,
              ceFinal: ce.response[ce.response.length - 1] ?? NaN,
            };
            if (timeRatio !== undefined) evidence.timeRatio = timeRatio;
            if (tH !== undefined) evidence.hingeLearningStep = tH;
            if (tC !== undefined) evidence.ceLearningStep = tC;
            if (stop.stopStep !== undefined) evidence.hingeStopStep = stop.stopStep;
            if (growth !== undefined) evidence.ceGrowthPerLogStep = growth;
            ctx.emit({
              kind: 'loss-comparison',
              relatedTrials: [ce.trial.id, hinge.trial.id],
              discriminator: `${ce.trial.id}|${hinge.trial.id}`,
              evidence,
              message: `hinge vs cross-entropy: ${timeRatio !== undefined ? `cross-entropy took ${fmt(timeRatio)}x as long to reach ${level}` : `no learning-time ratio (level ${level} not reached by both)`}; hinge ${stop.stopped ? `stopped at its margin ${margin} from step ${stop.stopStep}` : `did not stop at its margin ${margin} (final ${fmt(stop.final)})`}; cross-entropy output still growing by ${growth !== undefined ? fmt(growth) : '?'} per unit of ln(step)`,
            });
          }
        }
        const pairs = runs
          .filter((r) => r.trial.loss.kind === 'hinge')
          .reduce(
            (n, h) =>
              n + runs.filter((c) => c.trial.loss.kind === 'logistic' && c.key === h.key).length,
            0,
          );
        if (pairs > 0) {
          const sorted = [...ratios].sort((a, b) => a - b);
          const median =
            sorted.length > 0
              ? (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2
              : NaN;
          ctx.emit({
            kind: 'loss-comparison-summary',
            evidence: {
              pairs,
              medianTimeRatio: median,
              ratios: ratios.length,
              hingeStoppedFraction: stopped / pairs,
            },
            message: `${pairs} cross-entropy/hinge pairs: median time ratio ${fmt(median)}, hinge stopped at its margin in ${stopped} of them`,
          });
        }
        runs.length = 0;
      },
    };
  },
});
