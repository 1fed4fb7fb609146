/**
 * The papers' first observation, drawn per group of trials: training error and probe outputs
 * against log time, each recorded curve with the sigmoid the learning-curve analyzer fitted to it
 * and, where the caller supplied one, the closed-form theory curve. Up to `maxGroups` groups are
 * drawn, spread evenly over the sweep, so a large sweep gives a readable plot.
 */
import {
  curveSpec,
  dashStyles,
  pickEvenly,
  sigmoidPoints,
  type CurveRow,
  type Figure,
} from './figure';
import type { FittedSigmoid, LogSigmoid } from './log-sigmoid';
import type { GroupInfo, ReportData, TrialSeries } from './report-data';

/** Most groups drawn in one dynamics figure. */
export const maxGroups = 8;
/** Most probes drawn (one panel each). */
export const maxProbes = 4;

/** Kept series by group, for groups that have at least one series passing `has`. */
export function seriesByGroup(
  d: ReportData,
  has: (s: TrialSeries) => boolean,
): Map<GroupInfo, TrialSeries[]> {
  const out = new Map<GroupInfo, TrialSeries[]>();
  for (const s of d.series.values()) {
    const g = d.groups[s.group];
    if (!g || !has(s)) continue;
    const list = out.get(g) ?? [];
    list.push(s);
    out.set(g, list);
  }
  return new Map([...out.entries()].sort((a, b) => a[0].index - b[0].index));
}

/** Rows of one recorded curve, its fitted sigmoid (plateaus default to the curve's ends) and theory. */
function curveRows(
  s: TrialSeries,
  values: readonly number[],
  fit: FittedSigmoid | undefined,
  theory: TrialSeries['theory'],
  color: string,
  facet: string,
): CurveRow[] {
  const rows: CurveRow[] = s.steps.map((step, i) => ({
    step,
    value: values[i]!,
    curve: `${s.trialId}|${facet}|rec`,
    color,
    dash: dashStyles.recorded,
    facet,
  }));
  const first = s.steps.find((x) => x >= 1);
  const last = s.steps[s.steps.length - 1];
  if (fit && first !== undefined && last !== undefined) {
    const full: LogSigmoid = {
      start: values[0]!,
      end: values[values.length - 1]!,
      ...withoutUndefined(fit),
    };
    for (const p of sigmoidPoints(full, first, last))
      rows.push({ ...p, curve: `${s.trialId}|${facet}|fit`, color, dash: dashStyles.fit, facet });
  }
  for (const [k, c] of theory.entries())
    c.steps.forEach((step, i) =>
      rows.push({
        step,
        value: c.values[i]!,
        curve: `${s.trialId}|${facet}|th${k}`,
        color,
        dash: c.label ?? dashStyles.theory,
        facet,
      }),
    );
  return rows;
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Training error against log time, one colour per group, with fitted sigmoids and theory. */
export function errorCurvesFigure(d: ReportData): Figure | undefined {
  const groups = seriesByGroup(d, (s) => s.error.length > 1);
  if (groups.size === 0) return undefined;
  const rows: CurveRow[] = [];
  for (const g of pickEvenly([...groups.keys()], maxGroups)) {
    for (const s of groups.get(g)!) {
      const theory = s.theory.filter((c) => c.quantity === 'error');
      rows.push(...curveRows(s, s.error, d.sigmoids.get(s.trialId)?.error, theory, g.label, ''));
    }
  }
  const shown = Math.min(groups.size, maxGroups);
  return {
    id: 'error-curves',
    title: 'Training error in log time',
    caption: `Each error curve should drop as one sigmoid in log time (plateau, drop, plateau); dashed: fitted sigmoids, dotted: closed-form theory${shown < groups.size ? ` (${shown} of ${groups.size} groups shown)` : ''}.`,
    spec: curveSpec({
      rows,
      yTitle: 'training error (fraction)',
      colorTitle: 'group',
      yDomain: [0, Math.max(0.5, ...rows.map((r) => r.value))],
    }),
  };
}

/** Outputs on the probe inputs against log time, one panel per probe, one colour per group. */
export function probeOutputsFigure(d: ReportData): Figure | undefined {
  const groups = seriesByGroup(d, (s) => s.probes.some((p) => p.values.length > 1));
  if (groups.size === 0) return undefined;
  const rows: CurveRow[] = [];
  for (const g of pickEvenly([...groups.keys()], maxGroups)) {
    for (const s of groups.get(g)!) {
      s.probes.slice(0, maxProbes).forEach((p, j) => {
        const theory = s.theory.filter(
          (c) => c.quantity === 'probeOutputs' && (c.index ?? 0) === j,
        );
        rows.push(
          ...curveRows(
            s,
            p.values,
            d.sigmoids.get(s.trialId)?.probes.get(j),
            theory,
            g.label,
            p.name,
          ),
        );
      });
    }
  }
  return {
    id: 'probe-outputs',
    title: 'Outputs on the probe inputs in log time',
    caption:
      'Each probe output should rise as a sigmoid in log time, the modes one after another; dashed: fitted sigmoids, dotted: closed-form theory.',
    spec: curveSpec({ rows, yTitle: 'output f(probe) (logit)', colorTitle: 'group' }),
  };
}
