/**
 * Per-feature gradient shares over time, one panel per group (its first kept trial): the picture
 * behind gradient starvation, where one feature takes the gradient and the others wait.
 */
import { seriesByGroup } from './dynamics-figures';
import { curveSpec, dashStyles, pickEvenly, type CurveRow, type Figure } from './figure';
import type { ReportData } from './report-data';

/** Most panels (groups) in the figure. */
export const maxShareGroups = 6;

/** Gradient share of each feature (largest features, the rest summed) against log time; none with a single feature. */
export function gradientSharesFigure(d: ReportData): Figure | undefined {
  const groups = seriesByGroup(d, (s) => (s.gradShare?.length ?? 0) > 1);
  if (groups.size === 0) return undefined;
  const rows: CurveRow[] = [];
  for (const g of pickEvenly([...groups.keys()], maxShareGroups)) {
    const s = groups.get(g)![0]!;
    for (const f of s.gradShare!) {
      const color = f.feature < 0 ? 'other features' : `feature ${f.feature}`;
      s.steps.forEach((step, i) =>
        rows.push({
          step,
          value: f.values[i]!,
          curve: `${s.trialId}|${color}`,
          color,
          dash: dashStyles.recorded,
          facet: g.label,
        }),
      );
    }
  }
  return {
    id: 'gradient-shares',
    title: 'Per-feature gradient shares',
    caption:
      'Share of the first-layer gradient norm per input feature. The feature holding most of the gradient while the loss falls is learned first; an informative feature whose share stays near zero is starved.',
    spec: curveSpec({
      rows,
      yTitle: 'gradient share (fraction)',
      colorTitle: 'feature',
      yDomain: [0, 1],
    }),
  };
}
