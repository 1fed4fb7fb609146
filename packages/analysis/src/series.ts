/**
 * Read access to a trial's columnar series. `TelemetryColumns` stores matrices row-major with their
 * widths beside them (the wire form), which is compact but easy to index wrongly; every analyzer
 * reads it through these few functions instead.
 */
import type { CompiledTrial, TelemetryColumns } from '@dynlab/spec';

/** The matrix columns of a series and the field holding each one's width. */
const matrices = [
  ['gradShare', 'features'],
  ['probeOutputs', 'probes'],
  ['paramNorms', 'layers'],
  ['trainOutputs', 'trainPoints'],
] as const;

/** Number of recorded rows. */
export function rowCount(s: TelemetryColumns): number {
  return s.steps.length;
}

/** Column `j` of the gradient shares, one value per row (empty when not recorded). */
export function gradShareColumn(s: TelemetryColumns, j: number): number[] {
  return matrixColumn(s.gradShare, s.features, j, s.steps.length);
}

/** Output on probe `k`, one value per row (empty when not recorded). */
export function probeColumn(s: TelemetryColumns, k: number): number[] {
  return matrixColumn(s.probeOutputs, s.probes, k, s.steps.length);
}

/** Mean over hidden layers of the dead-unit fraction, one value per row (empty for linear models or when not recorded). */
export function deadUnitFraction(s: TelemetryColumns): number[] {
  const rows = s.steps.length;
  if (rows === 0 || s.deadUnits.length === 0) return [];
  const width = s.deadUnits.length / rows;
  return Array.from({ length: rows }, (_, i) => {
    let sum = 0;
    for (let l = 0; l < width; l++) sum += s.deadUnits[i * width + l]!;
    return sum / width;
  });
}

function matrixColumn(values: readonly number[], width: number, j: number, rows: number): number[] {
  if (width <= 0 || j < 0 || j >= width || values.length < rows * width) return [];
  return Array.from({ length: rows }, (_, i) => values[i * width + j]!);
}

/** Rows `from` (inclusive) to `to` (exclusive) of a series, as a new series of the same widths. */
export function sliceRows(
  s: TelemetryColumns,
  from: number,
  to: number = s.steps.length,
): TelemetryColumns {
  const rows = s.steps.length;
  const out: TelemetryColumns = {
    ...s,
    steps: s.steps.slice(from, to),
    loss: s.loss.length === rows ? s.loss.slice(from, to) : [],
    error: s.error.length === rows ? s.error.slice(from, to) : [],
    deadUnits: [],
  };
  for (const [k, w] of matrices)
    out[k] = s[k].length === rows * s[w] ? s[k].slice(from * s[w], to * s[w]) : [];
  if (rows > 0 && s.deadUnits.length > 0) {
    const w = s.deadUnits.length / rows;
    out.deadUnits = s.deadUnits.slice(from * w, to * w);
  }
  return out;
}

/**
 * The feature each probe looks at: for probe k, the index j when the probe's input is non-zero on
 * feature j alone (for example the unit vector e_j), else -1. Probes are how the papers read the
 * learned response to one feature (one mode).
 */
export function probeFeatures(trial: CompiledTrial): number[] {
  return trial.record.probes.map((p) => {
    const nonZero = p.x.flatMap((v, j) => (v !== 0 ? [j] : []));
    return nonZero.length === 1 ? nonZero[0]! : -1;
  });
}

/** The probe that looks at feature `j` alone (see `probeFeatures`), or -1. */
export function probeForFeature(trial: CompiledTrial, j: number): number {
  return probeFeatures(trial).indexOf(j);
}

/** The value the probe input takes on its feature (its scale), or 0 for a probe that mixes features. */
export function probeScale(trial: CompiledTrial, k: number): number {
  const j = probeFeatures(trial)[k] ?? -1;
  return j < 0 ? 0 : trial.record.probes[k]!.x[j]!;
}

/** A feature's learned response over time: the probe on it, rescaled to the feature's own norm. */
export interface FeatureResponse {
  feature: number;
  probe: number;
  /**
   * Output on a sample that carries the feature alone, per row: probe output * norm / probe scale
   * (exact for bias-free ReLU and linear nets, which are positively homogeneous; the raw probe
   * output when the data has no feature norms).
   */
  values: number[];
}

/** The response to every feature that has a probe of its own (the first such probe), in feature order. */
export function featureResponses(trial: CompiledTrial, s: TelemetryColumns): FeatureResponse[] {
  const seen = new Set<number>();
  const out: FeatureResponse[] = [];
  probeFeatures(trial).forEach((j, k) => {
    if (j < 0 || seen.has(j)) return;
    const col = probeColumn(s, k);
    if (col.length === 0) return;
    seen.add(j);
    const scale =
      trial.data.kind === 'features'
        ? (trial.data.features[j]?.norm ?? 1) / probeScale(trial, k)
        : 1;
    out.push({ feature: j, probe: k, values: col.map((v) => v * scale) });
  });
  return out.sort((a, b) => a.feature - b.feature);
}

/** Value of a series at `step`, interpolated linearly in ln(step) (linearly in step before step 1); clamped at the ends. */
export function valueAt(steps: readonly number[], values: readonly number[], step: number): number {
  const n = Math.min(steps.length, values.length);
  if (n === 0) return NaN;
  if (step <= steps[0]!) return values[0]!;
  if (step >= steps[n - 1]!) return values[n - 1]!;
  let i = 1;
  while (steps[i]! < step) i++;
  const s0 = steps[i - 1]!,
    s1 = steps[i]!;
  const frac = s0 > 0 ? Math.log(step / s0) / Math.log(s1 / s0) : (step - s0) / (s1 - s0);
  return values[i - 1]! + frac * (values[i]! - values[i - 1]!);
}
