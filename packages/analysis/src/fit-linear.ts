/**
 * Ordinary least squares with standard errors and t-based confidence intervals: the regression of
 * log learning time on log input norm and log feature frequency. Regressors are few (one or two),
 * so the normal equations are solved directly by Gauss-Jordan elimination in float64; columns are
 * centred first, which keeps them well conditioned.
 */
import { studentTQuantile } from './student-t';

/** One fitted coefficient with its standard error and confidence interval. */
export interface Coefficient {
  estimate: number;
  stderr: number;
  ciLow: number;
  ciHigh: number;
}

/** A linear fit y = intercept + sum_k slope_k x_k. */
export interface LinearFit {
  intercept: number;
  slopes: Coefficient[];
  r2: number;
  /** Number of points. */
  n: number;
  /** Residual degrees of freedom, n - k - 1. */
  df: number;
  /** Confidence level of the intervals. */
  confidence: number;
}

/**
 * Fits y on the columns of `x` (`x[i]` is point i's regressors) with an intercept. Undefined when
 * there are fewer than k + 2 points (no degree of freedom left for the intervals) or the regressors
 * are collinear.
 */
export function fitLinear(
  x: readonly (readonly number[])[],
  y: readonly number[],
  confidence = 0.95,
): LinearFit | undefined {
  const n = y.length;
  const k = x[0]?.length ?? 0;
  if (n < k + 2 || x.length !== n) return undefined;
  const xMean = Array.from({ length: k }, (_, j) => x.reduce((a, r) => a + r[j]!, 0) / n);
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const xc = x.map((r) => r.map((v, j) => v - xMean[j]!));
  const yc = y.map((v) => v - yMean);
  const xtx = Array.from({ length: k }, (_, a) =>
    Array.from({ length: k }, (_, b) => xc.reduce((s, r) => s + r[a]! * r[b]!, 0)),
  );
  const inv = invert(xtx);
  if (!inv) return undefined;
  const xty = Array.from({ length: k }, (_, a) => xc.reduce((s, r, i) => s + r[a]! * yc[i]!, 0));
  const beta = inv.map((row) => row.reduce((s, v, b) => s + v * xty[b]!, 0));
  const sse = xc.reduce(
    (s, r, i) => s + (yc[i]! - r.reduce((t, v, j) => t + v * beta[j]!, 0)) ** 2,
    0,
  );
  const sst = yc.reduce((s, v) => s + v * v, 0);
  const df = n - k - 1;
  const sigma2 = sse / df;
  const q = studentTQuantile(0.5 + confidence / 2, df);
  return {
    intercept: yMean - beta.reduce((s, b, j) => s + b * xMean[j]!, 0),
    slopes: beta.map((b, j) => {
      const se = Math.sqrt(sigma2 * inv[j]![j]!);
      return { estimate: b, stderr: se, ciLow: b - q * se, ciHigh: b + q * se };
    }),
    r2: sst > 0 ? 1 - sse / sst : 1,
    n,
    df,
    confidence,
  };
}

/** Inverse of a small symmetric positive matrix, or undefined when it is (numerically) singular. */
function invert(m: number[][]): number[][] | undefined {
  const k = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: k }, (_, j) => (i === j ? 1 : 0))]);
  const scale = Math.max(...m.map((r, i) => Math.abs(r[i]!)), 0);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    if (!(Math.abs(a[p]![c]!) > 1e-12 * scale)) return undefined;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const piv = a[c]![c]!;
    a[c] = a[c]!.map((v) => v / piv);
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      a[r] = a[r]!.map((v, j) => v - f * a[c]![j]!);
    }
  }
  return a.map((row) => row.slice(k));
}
