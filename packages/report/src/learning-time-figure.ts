/**
 * Learning time against input norm or feature frequency on log-log axes, with the regression line
 * (the convergence-speed finding's slope, or a least-squares fit of the points when no finding
 * gave one). Theory says slope -1 for both: learning time ~ 1/(p r).
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import type { Figure } from './figure';
import { axisLabels, formatNumber, paramsLabel, scalarParam } from './param-values';
import type { ReportData, SlopeFit } from './report-data';

/** Most points drawn; past it, each group is drawn as the median of its seeds. */
export const maxPoints = 1500;

const regressors = {
  norm: {
    id: 'learning-time-vs-norm',
    pattern: /(^|\.)norm$/,
    title: 'Learning time against input norm',
    xTitle: 'input norm r (log)',
    caption:
      'Points should lie on a line of slope −1 in log-log axes: doubling the input norm halves the learning time.',
  },
  frequency: {
    id: 'learning-time-vs-frequency',
    pattern: /(^|\.)frequency$/,
    title: 'Learning time against feature frequency',
    xTitle: 'feature frequency p (fraction of samples, log)',
    caption:
      'Points should lie on a line of slope −1 in log-log axes: a feature seen half as often is learned twice as slowly.',
  },
} as const;

/** Least-squares slope and intercept of ln y on ln x (undefined with fewer than two distinct x). */
export function logLogFit(
  points: readonly { x: number; y: number }[],
): { slope: number; intercept: number } | undefined {
  const lx = points.map((p) => Math.log(p.x));
  const ly = points.map((p) => Math.log(p.y));
  const n = points.length;
  const mx = lx.reduce((a, b) => a + b, 0) / n;
  const my = ly.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (lx[i]! - mx) ** 2;
    sxy += (lx[i]! - mx) * (ly[i]! - my);
  }
  if (n < 2 || sxx <= 1e-12 * n) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** The figure for one regressor, when the sweep has an axis for it and learning times to plot. */
export function learningTimeFigure(
  d: ReportData,
  regressor: 'norm' | 'frequency',
): Figure | undefined {
  const r = regressors[regressor];
  const axis = d.axes.find((a) => r.pattern.test(a));
  if (axis === undefined) return undefined;
  const others = d.axes.filter((a) => a !== axis);
  const labels = axisLabels(d.axes);
  let points = d.trials
    .map((t) => ({
      x: scalarParam(t.params[axis]),
      y: t.learningTime,
      group: t.group,
      other: paramsLabel(t.params, others, labels),
    }))
    .filter(
      (p): p is { x: number; y: number; group: number; other: string } =>
        p.x !== undefined && p.x > 0 && p.y !== undefined && p.y > 0,
    );
  if (points.length > maxPoints) points = groupMedians(points);
  if (new Set(points.map((p) => p.x)).size < 2) return undefined;

  const given: SlopeFit | undefined = d.convergence[regressor];
  const own = logLogFit(points);
  const fit = given ?? own;
  const otherLabels = new Set(points.map((p) => p.other));
  const colorOf = (p: { other: string }) =>
    otherLabels.size > 1 && otherLabels.size <= 8 ? p.other : 'trials';
  const rows: Record<string, number | string>[] = points.map((p) => ({
    x: p.x,
    y: p.y,
    series: colorOf(p),
  }));
  const lines: Record<string, number | string>[] = [];
  if (fit) {
    const intercept =
      fit.intercept ?? (own ? meanLog(points, 'y') - fit.slope * meanLog(points, 'x') : undefined);
    const ci =
      given?.low !== undefined && given.high !== undefined
        ? ` [${formatNumber(given.low)}, ${formatNumber(given.high)}]`
        : '';
    const name = `fit: slope ${formatNumber(fit.slope)}${ci}${given ? '' : ' (least squares)'}`;
    const xs = points.map((p) => p.x);
    if (intercept !== undefined)
      for (const x of [Math.min(...xs), Math.max(...xs)])
        lines.push({ x, y: Math.exp(intercept + fit.slope * Math.log(x)), series: name });
  }
  const pointSeries = [...new Set(rows.map((p) => String(p.series)))];
  const lineSeries = [...new Set(lines.map((p) => String(p.series)))];
  const colors = {
    domain: [...pointSeries, ...lineSeries],
    range: [
      ...pointSeries.map((_, i) => palette[i % palette.length]!),
      ...lineSeries.map(() => '#222222'),
    ],
  };
  const spec: TopLevelSpec = {
    width: 520,
    height: 300,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 40, opacity: 0.8 },
        encoding: encoding(r.xTitle, colors),
      },
      ...(lines.length
        ? [
            {
              data: { values: lines },
              mark: { type: 'line' as const, strokeWidth: 2 },
              encoding: encoding(r.xTitle, colors),
            },
          ]
        : []),
    ],
  };
  return { id: r.id, title: r.title, caption: r.caption, spec };
}

/** Vega's tableau10, for the points; the fitted line is drawn in near-black. */
const palette = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

function encoding(xTitle: string, colors: { domain: string[]; range: string[] }) {
  return {
    x: {
      field: 'x',
      type: 'quantitative' as const,
      scale: { type: 'log' as const },
      title: xTitle,
    },
    y: {
      field: 'y',
      type: 'quantitative' as const,
      scale: { type: 'log' as const },
      title: 'learning time (steps, log)',
    },
    color: { field: 'series', type: 'nominal' as const, title: null, sort: null, scale: colors },
  };
}

function meanLog(points: readonly { x: number; y: number }[], k: 'x' | 'y'): number {
  return points.reduce((a, p) => a + Math.log(p[k]), 0) / points.length;
}

function groupMedians<T extends { x: number; y: number; group: number }>(
  points: readonly T[],
): T[] {
  const byGroup = new Map<number, T[]>();
  for (const p of points) {
    const list = byGroup.get(p.group);
    if (list) list.push(p);
    else byGroup.set(p.group, [p]);
  }
  return [...byGroup.values()].map((ps) => {
    const ys = ps.map((p) => p.y).sort((a, b) => a - b);
    return { ...ps[0]!, y: ys[Math.floor(ys.length / 2)]! };
  });
}
