/**
 * Downsampling for plots. The dynamics are sigmoids in log time and every plot has a log step
 * axis, so points are thinned evenly in log(1 + step), not in step: a series recorded every step
 * keeps its early, fast part and drops the long, flat tail.
 */

/**
 * Indices of at most `maxPoints` entries of the increasing `steps`, spread evenly in log(1 + step);
 * the first and the last index are always kept. Keeps plots and the report small whatever the
 * record schedule.
 */
export function logSpacedIndices(steps: readonly number[], maxPoints: number): number[] {
  const n = steps.length;
  if (n <= Math.max(2, maxPoints)) return Array.from({ length: n }, (_, i) => i);
  const at = (i: number) => Math.log1p(Math.max(0, steps[i]!));
  const lo = at(0);
  const hi = at(n - 1);
  const out = [0];
  let i = 1;
  for (let k = 1; k < maxPoints - 1; k++) {
    const target = lo + ((hi - lo) * k) / (maxPoints - 1);
    while (i < n - 1 && at(i) < target) i++;
    if (i >= n - 1) break;
    if (i > out[out.length - 1]!) out.push(i);
  }
  out.push(n - 1);
  return out;
}

/** The values of `xs` at `indices`. */
export function pick<T>(xs: readonly T[], indices: readonly number[]): T[] {
  return indices.map((i) => xs[i]!);
}
