/**
 * Cross-entropy against hinge: the same trials under the two losses. Hinge stops once every point
 * clears its margin, in finite time; cross-entropy keeps pushing the output up, ever more slowly.
 */
import { curveSpec, type Figure } from './figure';
import { pairedRows } from './paired-curves';
import { formatNumber } from './param-values';
import type { ReportData } from './report-data';

const lossLabels: Record<string, string> = {
  logistic: 'cross-entropy (logistic)',
  hinge: 'hinge',
  squared: 'squared',
};

/** The comparison, when the sweep varies `loss.kind` and kept series of at least two losses. */
export function lossComparisonFigure(d: ReportData): Figure | undefined {
  if (!d.axes.includes('loss.kind')) return undefined;
  const withProbes = [...d.series.values()].every((s) => s.probes.length > 0);
  const { rows, panels, series } = pairedRows(d, {
    axis: 'loss.kind',
    colorOf: (s) => lossLabels[s.lossKind] ?? s.lossKind,
    valuesOf: (s) => (withProbes ? s.probes[0]?.values : s.error.length > 0 ? s.error : undefined),
  });
  if (panels === 0) return undefined;
  if (withProbes) {
    for (const s of series.filter((x) => x.lossKind === 'hinge')) {
      const facet = rows.find((r) => r.curve.startsWith(`${s.trialId}|`))?.facet ?? '';
      const ends = [s.steps.find((x) => x >= 1), s.steps[s.steps.length - 1]].filter(
        (x): x is number => x !== undefined,
      );
      for (const step of ends)
        rows.push({
          step,
          value: s.lossMargin,
          curve: `margin|${facet}`,
          color: 'hinge margin',
          dash: 'margin',
          facet,
        });
    }
  }
  const ratios = d.lossTimeRatios;
  const median = ratios.length
    ? [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!
    : undefined;
  return {
    id: 'loss-comparison',
    title: 'Cross-entropy vs hinge',
    caption: `Hinge should flatten at its margin in finite time while cross-entropy keeps growing the output ever more slowly${median !== undefined ? `; median learning-time ratio (cross-entropy / hinge) from the findings: ${formatNumber(median)}` : ''}.`,
    spec: curveSpec({
      rows,
      yTitle: withProbes
        ? `output on ${series[0]?.probes[0]?.name ?? 'probe 0'} (logit)`
        : 'training error (fraction)',
      colorTitle: 'loss',
    }),
  };
}
