/**
 * Learning time against input norm or feature frequency on log-log axes, with the fitted slope.
 * The points are the convergence-speed analyzer's (per probed feature, in gradient-flow time, the
 * quantity its regression uses) when it ran, else the trial table's learning times (steps) over the
 * swept norm or frequency axis. The line has the analyzer's slope (or a least-squares slope of the
 * points when no finding gave one) and passes through the points' centroid in log-log space, where
 * any least-squares fit, joint or not, passes. Theory: slope -1 for both, time ~ 1/(p r).
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import type { Figure } from './figure';
import { axisLabels, formatNumber, paramsLabel, scalarParam } from './param-values';
import type { ReportData } from './report-data';

/** Most points drawn; past it, each group (or colour) is thinned evenly. */
export const maxPoints = 1500;

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

/** The first swept axis that sets a norm (or a frequency), e.g. `data.features.features[0].norm`. */
export function regressorAxis(
  axes: readonly string[],
  regressor: 'norm' | 'frequency',
): string | undefined {
  return axes.find((a) => regressors[regressor].pattern.test(a));
}

/** Least-squares slope and intercept of ln y on ln x (undefined with fewer than two distinct x). */
export function logLogFit(
  points: readonly { x: number; y: number }[],
): { slope: number; intercept: number } | undefined {
  const n = points.length;
  const mx = meanLog(points, 'x');
  const my = meanLog(points, 'y');
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (Math.log(p.x) - mx) ** 2;
    sxy += (Math.log(p.x) - mx) * (Math.log(p.y) - my);
  }
  if (n < 2 || sxx <= 1e-12 * n) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

interface Point {
  x: number;
  y: number;
  /** Colour: the other swept values. */
  other: string;
}

/** The figure for one regressor, when there are learning times at two or more values of it. */
export function learningTimeFigure(
  d: ReportData,
  regressor: 'norm' | 'frequency',
): Figure | undefined {
  const r = regressors[regressor];
  const fromAnalyzer = d.speedPoints.length > 0;
  let points = fromAnalyzer ? analyzerPoints(d, regressor) : tablePoints(d, regressor);
  if (points.length > maxPoints)
    points = points.filter((_, i) => i % Math.ceil(points.length / maxPoints) === 0);
  if (new Set(points.map((p) => p.x)).size < 2) return undefined;

  const given = d.convergence[regressor];
  const slope = given?.slope ?? logLogFit(points)?.slope;
  const others = new Set(points.map((p) => p.other));
  const rows = points.map((p) => ({
    x: p.x,
    y: p.y,
    series: others.size > 1 && others.size <= 8 ? p.other : 'points',
  }));
  const lines: typeof rows = [];
  if (slope !== undefined) {
    const ci =
      given?.low !== undefined && given.high !== undefined
        ? ` [${formatNumber(given.low)}, ${formatNumber(given.high)}]`
        : '';
    const name = `fit: slope ${formatNumber(slope)}${ci}${given ? '' : ' (least squares)'}`;
    const [mx, my] = [meanLog(points, 'x'), meanLog(points, 'y')];
    const xs = points.map((p) => p.x);
    for (const x of [Math.min(...xs), Math.max(...xs)])
      lines.push({ x, y: Math.exp(my + slope * (Math.log(x) - mx)), series: name });
  }
  const pointSeries = [...new Set(rows.map((p) => p.series))];
  const lineSeries = [...new Set(lines.map((p) => p.series))];
  const colors = {
    domain: [...pointSeries, ...lineSeries],
    range: [
      ...pointSeries.map((_, i) => palette[i % palette.length]!),
      ...lineSeries.map(() => '#222222'),
    ],
  };
  const yTitle = fromAnalyzer ? 'learning time (lr × steps, log)' : 'learning time (steps, log)';
  const encoding = {
    x: {
      field: 'x',
      type: 'quantitative' as const,
      scale: { type: 'log' as const },
      title: r.xTitle,
    },
    y: {
      field: 'y',
      type: 'quantitative' as const,
      scale: { type: 'log' as const },
      title: yTitle,
    },
    color: { field: 'series', type: 'nominal' as const, title: null, sort: null, scale: colors },
  };
  const spec: TopLevelSpec = {
    width: 520,
    height: 340,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 40, opacity: 0.8 },
        encoding,
      },
      ...(lines.length
        ? [{ data: { values: lines }, mark: { type: 'line' as const, strokeWidth: 2 }, encoding }]
        : []),
    ],
  };
  return { id: r.id, title: r.title, caption: r.caption, spec };
}

/** The convergence-speed analyzer's points, coloured by the other regressor. */
function analyzerPoints(d: ReportData, regressor: 'norm' | 'frequency'): Point[] {
  const other = regressor === 'norm' ? 'frequency' : 'norm';
  return d.speedPoints.map((p) => ({
    x: p[regressor],
    y: p.time,
    other: `${other}=${formatNumber(p[other])}`,
  }));
}

/** The trial table's learning times over the swept axis, coloured by the other swept values. */
function tablePoints(d: ReportData, regressor: 'norm' | 'frequency'): Point[] {
  const axis = regressorAxis(d.axes, regressor);
  if (axis === undefined) return [];
  const others = d.axes.filter((a) => a !== axis);
  const labels = axisLabels(d.axes);
  return d.trials.flatMap((t) => {
    const x = scalarParam(t.params[axis]);
    const y = t.learningTime;
    return x !== undefined && x > 0 && y !== undefined && y > 0
      ? [{ x, y, other: paramsLabel(t.params, others, labels) }]
      : [];
  });
}

function meanLog(points: readonly { x: number; y: number }[], k: 'x' | 'y'): number {
  return points.reduce((a, p) => a + Math.log(p[k]), 0) / points.length;
}
