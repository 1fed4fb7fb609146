/**
 * The starvation counterfactual: the rare feature's probe output with the frequent feature present
 * and with it knocked out. Starvation shows as a much smaller response when the frequent feature
 * is there; spectral decoupling (when swept) should close the gap.
 */
import { curveSpec, type Figure } from './figure';
import { pairedRows } from './paired-curves';
import { formatNumber, parseParam } from './param-values';
import type { ReportData, TrialSeries } from './report-data';

const knockOutAxis = /^data\.features\.features\[(\d+)\]\.knockedOut$/;

/** Index of the probe that is (within 0.9 cosine) the unit input of `feature`, if any. */
export function probeOfFeature(s: TrialSeries, feature: number): number | undefined {
  let best: number | undefined;
  let bestCos = 0.9;
  s.probes.forEach((p, j) => {
    const norm = Math.hypot(...p.x);
    const cos = norm > 0 ? Math.abs(p.x[feature] ?? 0) / norm : 0;
    if (cos >= bestCos) [best, bestCos] = [j, cos];
  });
  return best;
}

/** The counterfactual figure, when the sweep knocks a feature out and a probe reads another one. */
export function starvationFigure(d: ReportData): Figure | undefined {
  const axis = d.axes.find((a) => knockOutAxis.test(a));
  if (axis === undefined) return undefined;
  const k = Number(knockOutAxis.exec(axis)![1]);
  const rare =
    d.counterfactuals.find(
      (c) => c.otherFeature === k && c.feature !== undefined && c.feature !== k,
    )?.feature ?? rarestOther(d, k);
  if (rare === undefined) return undefined;
  let probeName = `feature ${rare}`;
  const { rows, panels } = pairedRows(d, {
    axis,
    colorOf: (_s, params) => {
      const out = parseParam(params[axis]);
      return out === true
        ? `feature ${k} knocked out`
        : out === false
          ? `feature ${k} present`
          : undefined;
    },
    valuesOf: (s) => {
      const j = probeOfFeature(s, rare);
      if (j === undefined) return undefined;
      probeName = s.probes[j]!.name;
      return s.probes[j]!.values;
    },
  });
  if (panels === 0) return undefined;
  const ratios = d.counterfactuals.map((c) => c.ratio).sort((a, b) => a - b);
  const median = ratios.length ? ratios[Math.floor(ratios.length / 2)] : undefined;
  return {
    id: 'starvation-counterfactual',
    title: 'Gradient starvation: the counterfactual',
    caption: `Output on the probe of feature ${rare}: it is starved when this stays far below the knocked-out control while feature ${k} is present${median !== undefined ? `; median ratio (present / knocked out) from the findings: ${formatNumber(median)}` : ''}.`,
    spec: curveSpec({ rows, yTitle: `output on ${probeName} (logit)`, colorTitle: `feature ${k}` }),
  };
}

/** The least frequent informative feature other than `k`, from the kept series' data. */
function rarestOther(d: ReportData, k: number): number | undefined {
  for (const s of d.series.values()) {
    const candidates = s.featureFrequencies
      .map((p, j) => ({ p, j }))
      .filter(({ j }) => j !== k && s.featureInformative[j]);
    if (candidates.length > 0) return candidates.sort((a, b) => a.p - b.p || a.j - b.j)[0]!.j;
  }
  return undefined;
}
