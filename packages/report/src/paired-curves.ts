/**
 * Curves of trials that differ in one swept axis, drawn against each other: one colour per value
 * of that axis, one panel per combination of the other swept values (seeds overlaid). The
 * loss comparison (logistic vs hinge) and the starvation counterfactual (feature present vs
 * knocked out) are both this picture.
 */
import { seriesByGroup } from './dynamics-figures';
import { dashStyles, pickEvenly, type CurveRow } from './figure';
import { axisLabels, paramsLabel } from './param-values';
import type { ReportData, TrialSeries } from './report-data';

/** Most panels in a paired figure. */
export const maxPairPanels = 6;

/** How to split and draw the compared trials. */
export interface PairOptions {
  /** The axis the trials differ in (excluded from the panel label). */
  axis: string;
  /** The colour (compared value) of a series; undefined leaves it out. */
  colorOf: (s: TrialSeries, params: Readonly<Record<string, string>>) => string | undefined;
  /** The values to draw for a series (same length as its steps); undefined leaves it out. */
  valuesOf: (s: TrialSeries) => readonly number[] | undefined;
}

/** Rows of every panel where at least two compared values are present, and the panel count. */
export function pairedRows(
  d: ReportData,
  o: PairOptions,
): { rows: CurveRow[]; panels: number; series: TrialSeries[] } {
  const others = d.axes.filter((a) => a !== o.axis);
  const labels = axisLabels(d.axes);
  const panels = new Map<
    string,
    { colors: Set<string>; items: { s: TrialSeries; color: string; values: readonly number[] }[] }
  >();
  for (const [g, list] of seriesByGroup(d, () => true)) {
    for (const s of list) {
      const color = o.colorOf(s, g.params);
      const values = color === undefined ? undefined : o.valuesOf(s);
      if (color === undefined || values === undefined || values.length !== s.steps.length) continue;
      const facet = paramsLabel(g.params, others, labels);
      const p = panels.get(facet) ?? { colors: new Set(), items: [] };
      p.colors.add(color);
      p.items.push({ s, color, values });
      panels.set(facet, p);
    }
  }
  const compared = [...panels.entries()].filter(([, p]) => p.colors.size >= 2);
  const rows: CurveRow[] = [];
  const series: TrialSeries[] = [];
  for (const [facet, p] of pickEvenly(compared, maxPairPanels)) {
    for (const { s, color, values } of p.items) {
      series.push(s);
      s.steps.forEach((step, i) =>
        rows.push({
          step,
          value: values[i]!,
          curve: `${s.trialId}|${color}`,
          color,
          dash: dashStyles.recorded,
          facet,
        }),
      );
    }
  }
  return { rows, panels: compared.length, series };
}
