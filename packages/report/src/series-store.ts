/**
 * Keeps the series the plots need, in bounded memory: at most `seedsPerGroup` trials of each group
 * and `maxTrials` in all, each downsampled to `points` steps in log time; gradient shares only for
 * the first kept trial of a group, reduced to its `topFeatures` largest features plus the rest.
 */
import type { CompiledTrial, TelemetryColumns } from '@dynlab/spec';
import { logSpacedIndices, pick } from './downsample';
import type { TheoryCurve, TrialSeries } from './report-data';

/** How much of the telemetry is kept for plots. */
export interface SeriesBudget {
  /** @default 2000 */
  maxTrials: number;
  /** @default 4 */
  seedsPerGroup: number;
  /** Points per plotted curve. @default 80 */
  points: number;
  /** Features drawn in the gradient-share plot (the others are summed). @default 8 */
  topFeatures: number;
}

export const defaultSeriesBudget: SeriesBudget = {
  maxTrials: 2000,
  seedsPerGroup: 4,
  points: 80,
  topFeatures: 8,
};

/** Collects downsampled series of the trials that fit the budget. */
export class SeriesStore {
  readonly series = new Map<string, TrialSeries>();
  private readonly perGroup = new Map<number, number>();
  /** Trials with telemetry that were not kept. */
  skipped = 0;

  constructor(private readonly budget: SeriesBudget) {}

  /** Keeps the trial's series if the budget allows; returns whether it was kept. */
  add(
    trial: CompiledTrial,
    group: number,
    t: TelemetryColumns,
    theory: readonly TheoryCurve[] = [],
  ): boolean {
    const inGroup = this.perGroup.get(group) ?? 0;
    if (t.steps.length === 0) return false;
    if (inGroup >= this.budget.seedsPerGroup || this.series.size >= this.budget.maxTrials) {
      this.skipped++;
      return false;
    }
    this.perGroup.set(group, inGroup + 1);
    const idx = logSpacedIndices(t.steps, this.budget.points);
    const column = (values: readonly number[], width: number, j: number) =>
      idx.map((i) => values[i * width + j]!);
    const probes = trial.record.probes.map((p, j) => ({
      name: p.name || `probe ${j}`,
      x: p.x,
      values:
        t.probes > j && t.probeOutputs.length === t.steps.length * t.probes
          ? column(t.probeOutputs, t.probes, j)
          : [],
    }));
    const features = trial.data.kind === 'features' ? trial.data.features : [];
    this.series.set(trial.id, {
      trialId: trial.id,
      group,
      steps: pick(t.steps, idx),
      error: t.error.length === t.steps.length ? pick(t.error, idx) : [],
      loss: t.loss.length === t.steps.length ? pick(t.loss, idx) : [],
      probes: probes.filter((p) => p.values.length > 0),
      gradShare: inGroup === 0 ? this.topShares(t, idx) : undefined,
      theory: theory.map((c) => downsampleCurve(c, this.budget.points)),
      lossKind: trial.loss.kind,
      lossMargin: trial.loss.margin,
      featureFrequencies: features.map((f) => f.frequency),
      featureInformative: features.map((f) => f.informative && !f.knockedOut),
    });
    return true;
  }

  private topShares(t: TelemetryColumns, idx: readonly number[]): TrialSeries['gradShare'] {
    const d = t.features;
    const rows = t.steps.length;
    if (d < 1 || t.gradShare.length !== rows * d) return undefined;
    const mean = new Float64Array(d);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < d; j++) mean[j]! += t.gradShare[r * d + j]! / rows;
    const order = Array.from({ length: d }, (_, j) => j).sort(
      (a, b) => mean[b]! - mean[a]! || a - b,
    );
    const keep = d <= this.budget.topFeatures + 1 ? order : order.slice(0, this.budget.topFeatures);
    const out = keep
      .sort((a, b) => a - b)
      .map((j) => ({ feature: j, values: idx.map((i) => t.gradShare[i * d + j]!) }));
    if (keep.length < d) {
      const kept = new Set(keep);
      out.push({
        feature: -1,
        values: idx.map((i) => {
          let s = 0;
          for (let j = 0; j < d; j++) if (!kept.has(j)) s += t.gradShare[i * d + j]!;
          return s;
        }),
      });
    }
    return out;
  }
}

function downsampleCurve(c: TheoryCurve, points: number): TheoryCurve {
  const n = Math.min(c.steps.length, c.values.length);
  const idx = logSpacedIndices(c.steps.slice(0, n), points);
  return { ...c, steps: pick(c.steps, idx), values: pick(c.values, idx) };
}
