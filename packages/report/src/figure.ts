/**
 * What a figure is (an id, a title, a one-line caption and a Vega-Lite spec) and the one line-chart
 * builder the time-series figures share: log step on x, one line per curve, colour for what is
 * compared, dash for recorded / fitted / theory, and small multiples when there is more than one panel.
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import { logSigmoidAt, logSpace, type LogSigmoid } from './log-sigmoid';

/** Stable ids of the report's figures (also the `data-plot` attribute in the HTML). */
export type FigureId =
  | 'error-curves'
  | 'probe-outputs'
  | 'gradient-shares'
  | 'learning-time-vs-norm'
  | 'learning-time-vs-frequency'
  | 'failed-training-phase'
  | 'loss-comparison'
  | 'starvation-counterfactual';

/** A plot of the report before rendering. */
export interface Figure {
  id: FigureId;
  title: string;
  /** One line saying what to look for. */
  caption: string;
  spec: TopLevelSpec;
}

/** One point of a curve in a line chart. */
export interface CurveRow {
  step: number;
  value: number;
  /** Identifies the line (rows of one curve are joined). */
  curve: string;
  color: string;
  dash: string;
  facet: string;
}

/** Dash styles: recorded curves solid, fits dashed, closed forms dotted. */
export const dashStyles = {
  recorded: 'recorded',
  fit: 'fitted sigmoid',
  theory: 'closed-form theory',
} as const;

/** Options of `curveSpec`. */
export interface CurveSpecOptions {
  rows: CurveRow[];
  yTitle: string;
  colorTitle: string;
  /** @default 'curve' */
  dashTitle?: string;
  /** Fixed y range, e.g. [0, 1] for fractions. */
  yDomain?: [number, number];
  /** Panel size in pixels. @default [520, 280] for one panel, [300, 220] for several */
  size?: [number, number];
}

/** A line chart over log steps (steps below 1 and non-finite values are dropped). */
export function curveSpec(o: CurveSpecOptions): TopLevelSpec {
  const rows = o.rows.filter((r) => r.step >= 1 && Number.isFinite(r.value));
  const facets = new Set(rows.map((r) => r.facet));
  const dashes = [dashStyles.recorded, dashStyles.fit, dashStyles.theory].filter((d) =>
    rows.some((r) => r.dash === d),
  );
  const others = [...new Set(rows.map((r) => r.dash))].filter((d) => !dashes.includes(d as never));
  const [width, height] = o.size ?? (facets.size > 1 ? [300, 220] : [520, 280]);
  const dashRange: Record<string, number[]> = {
    [dashStyles.recorded]: [1, 0],
    [dashStyles.fit]: [6, 3],
    [dashStyles.theory]: [2, 2],
  };
  return {
    width,
    height,
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', scale: { type: 'log' }, title: 'step (log)' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: o.yTitle,
        ...(o.yDomain ? { scale: { domain: o.yDomain } } : {}),
      },
      color: { field: 'color', type: 'nominal', title: o.colorTitle, sort: null },
      strokeDash: {
        field: 'dash',
        type: 'nominal',
        title: o.dashTitle ?? 'curve',
        scale: {
          domain: [...dashes, ...others],
          range: [...dashes, ...others].map((d) => dashRange[d] ?? [4, 1, 1, 1]),
        },
        ...(dashes.length + others.length > 1 ? {} : { legend: null }),
      },
      detail: { field: 'curve', type: 'nominal' },
      ...(facets.size > 1
        ? {
            facet: {
              field: 'facet',
              type: 'nominal',
              columns: 3,
              title: null,
              sort: null,
              header: { labelExpr: "split(datum.label, ', ')" },
            },
          }
        : {}),
    },
  };
}

/** Points of a fitted sigmoid across [from, to] (steps >= 1). */
export function sigmoidPoints(
  s: LogSigmoid,
  from: number,
  to: number,
  points = 40,
): { step: number; value: number }[] {
  const a = Math.max(1, from);
  return to > a
    ? logSpace(a, to, points).map((step) => ({ step, value: logSigmoidAt(s, step) }))
    : [];
}

/** Up to `n` items spread evenly over `xs` (first and last included). */
export function pickEvenly<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  if (n <= 1) return xs.slice(0, 1);
  const idx = new Set(
    Array.from({ length: n }, (_, k) => Math.round((k * (xs.length - 1)) / (n - 1))),
  );
  return [...idx].map((i) => xs[i]!);
}
