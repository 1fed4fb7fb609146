/**
 * The failed-training phase diagram: over two swept initial-weight axes, the fraction of trials
 * that never trained. A trial counts as failed when a failed-training finding names it (when the
 * analyzer ran), else when it diverged or failed, or its error never halved.
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import type { Figure } from './figure';
import { axisLabels, scalarParam } from './param-values';
import type { ReportData, TrialRecord } from './report-data';

/** Past this many distinct values on an axis, cells become points on continuous axes. */
export const maxGridValues = 40;

/** Whether a trial failed to train; undefined for trials that say nothing (cancelled). */
export function trialFailed(
  t: TrialRecord,
  failedTrials: ReadonlySet<string> | undefined,
): boolean | undefined {
  if (t.status === 'cancelled') return undefined;
  if (failedTrials) return failedTrials.has(t.id);
  if (t.status !== 'ok') return true;
  return t.halfErrorTime === undefined && (t.initialError ?? 0) > 0;
}

/** Fraction of failed trials over the first two swept `init.*` axes with numeric values. */
export function phaseDiagramFigure(d: ReportData): Figure | undefined {
  const axes = d.axes.filter(
    (a) => a.startsWith('init.') && d.trials.some((t) => scalarParam(t.params[a]) !== undefined),
  );
  const [ax, ay] = axes;
  if (ax === undefined || ay === undefined) return undefined;
  const cells = new Map<string, { x: number; y: number; n: number; failed: number }>();
  for (const t of d.trials) {
    const x = scalarParam(t.params[ax]);
    const y = scalarParam(t.params[ay]);
    const failed = trialFailed(t, d.failedTrials);
    if (x === undefined || y === undefined || failed === undefined) continue;
    const key = `${x},${y}`;
    const c = cells.get(key) ?? { x, y, n: 0, failed: 0 };
    c.n++;
    c.failed += failed ? 1 : 0;
    cells.set(key, c);
  }
  const values = [...cells.values()].map((c) => ({
    x: c.x,
    y: c.y,
    failed: c.failed / c.n,
    trials: c.n,
  }));
  const xs = new Set(values.map((v) => v.x));
  const ys = new Set(values.map((v) => v.y));
  if (xs.size < 2 || ys.size < 2) return undefined;
  const labels = axisLabels(d.axes);
  const grid = xs.size <= maxGridValues && ys.size <= maxGridValues;
  const color = {
    field: 'failed',
    type: 'quantitative' as const,
    title: 'failed trials (fraction)',
    scale: { domain: [0, 1], scheme: 'reds' },
  };
  const spec: TopLevelSpec = {
    width: grid ? Math.min(520, Math.max(260, 40 * xs.size)) : 420,
    height: grid ? Math.min(420, Math.max(320, 32 * ys.size)) : 360,
    data: { values },
    mark: grid
      ? { type: 'rect', stroke: 'white', strokeWidth: 1 }
      : { type: 'point', filled: true, size: 30 },
    encoding: {
      x: {
        field: 'x',
        type: grid ? 'ordinal' : 'quantitative',
        title: `${labels.get(ax)} (initial value)`,
        ...(grid ? { sort: 'ascending', axis: { labelAngle: 0 } } : {}),
      },
      y: {
        field: 'y',
        type: grid ? 'ordinal' : 'quantitative',
        title: `${labels.get(ay)} (initial value)`,
        ...(grid ? { sort: 'descending' } : {}),
      },
      color,
    },
  };
  return {
    id: 'failed-training-phase',
    title: 'Failed-training phase diagram',
    caption:
      'Red cells are initial weights from which training fails (stuck at chance, dead units); the boundary should follow the closed-form condition.',
    spec,
  };
}
