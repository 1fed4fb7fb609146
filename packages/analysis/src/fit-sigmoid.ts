/**
 * Least-squares fit of a sigmoid in log time, y(u) = start + (end - start) * s((u - center) / width)
 * with u = ln(step) and s the logistic function: the shape the papers predict for the training error
 * and the outputs. For fixed (center, width) the model is linear in (start, end), so those two are
 * solved exactly and only two parameters are searched (variable projection): a coarse grid, then
 * Nelder-Mead. That is robust to the step-like curves of fast transitions, which derivative-based
 * fitters handle badly, and costs well under a millisecond for a hundred points.
 */

/** A fitted sigmoid; u is ln(step). */
export interface SigmoidFit {
  /** Value before the transition (u -> -inf). */
  start: number;
  /** Value after the transition (u -> +inf). */
  end: number;
  /** ln(step) of the half-way point. */
  center: number;
  /** Width in ln(step) units: the curve goes from 10% to 90% of the way over 2 * ln(9) * width. */
  width: number;
  /** Coefficient of determination of the fit (1 for a flat series). */
  r2: number;
  /** Root mean square of the residuals. */
  rmse: number;
  /** Number of points fitted. */
  points: number;
}

const logistic = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** The fitted curve at `u` = ln(step). */
export function sigmoidAt(
  fit: Pick<SigmoidFit, 'start' | 'end' | 'center' | 'width'>,
  u: number,
): number {
  return fit.start + (fit.end - fit.start) * logistic((u - fit.center) / fit.width);
}

/**
 * Fits the sigmoid to the points (u_i, y_i) (u = ln(step)); undefined with fewer than 4 points or
 * when the u values do not spread. Non-finite points are skipped.
 */
export function fitSigmoid(uIn: readonly number[], yIn: readonly number[]): SigmoidFit | undefined {
  const u: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < Math.min(uIn.length, yIn.length); i++) {
    if (Number.isFinite(uIn[i]) && Number.isFinite(yIn[i])) {
      u.push(uIn[i]!);
      y.push(yIn[i]!);
    }
  }
  const n = u.length;
  if (n < 4) return undefined;
  const uMin = Math.min(...u);
  const uMax = Math.max(...u);
  const span = uMax - uMin;
  if (!(span > 0)) return undefined;
  const mean = y.reduce((a, b) => a + b, 0) / n;
  const sst = y.reduce((a, b) => a + (b - mean) ** 2, 0);

  /** Best (start, end) and the residual sum of squares for a center and ln(width). */
  const solve = (c: number, lw: number) => {
    const w = Math.exp(lw);
    let s00 = 0,
      s01 = 0,
      s11 = 0,
      r0 = 0,
      r1 = 0;
    for (let i = 0; i < n; i++) {
      const s = logistic((u[i]! - c) / w);
      const b0 = 1 - s;
      s00 += b0 * b0;
      s01 += b0 * s;
      s11 += s * s;
      r0 += b0 * y[i]!;
      r1 += s * y[i]!;
    }
    const det = s00 * s11 - s01 * s01;
    let start = mean,
      end = mean;
    if (det > 1e-12 * (s00 + s11) ** 2) {
      start = (r0 * s11 - r1 * s01) / det;
      end = (r1 * s00 - r0 * s01) / det;
    }
    let sse = 0;
    for (let i = 0; i < n; i++)
      sse += (y[i]! - (start + (end - start) * logistic((u[i]! - c) / w))) ** 2;
    return { start, end, sse };
  };

  const cLo = uMin - 0.5 * span,
    cHi = uMax + 0.5 * span;
  const lwLo = Math.log(span / 400),
    lwHi = Math.log(2 * span);
  let best = { c: (uMin + uMax) / 2, lw: Math.log(span / 4), sse: Infinity };
  const gc = 80,
    gw = 30;
  for (let i = 0; i <= gc; i++) {
    const c = cLo + ((cHi - cLo) * i) / gc;
    for (let j = 0; j <= gw; j++) {
      const lw = lwLo + ((lwHi - lwLo) * j) / gw;
      const { sse } = solve(c, lw);
      if (sse < best.sse) best = { c, lw, sse };
    }
  }
  const [c, lw] = nelderMead(
    ([c, lw]) => (lw! < lwLo - 2 || lw! > lwHi ? Infinity : solve(c!, lw!).sse),
    [best.c, best.lw],
    [(cHi - cLo) / gc, (lwHi - lwLo) / gw],
  );
  const fit = solve(c!, lw!);
  return {
    start: fit.start,
    end: fit.end,
    center: c!,
    width: Math.exp(lw!),
    r2: sst > 0 ? 1 - fit.sse / sst : 1,
    rmse: Math.sqrt(fit.sse / n),
    points: n,
  };
}

/** Minimizes `f` from `x0` with initial simplex steps `step` (Nelder-Mead, standard coefficients). */
export function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  step: number[],
  iterations = 300,
  tol = 1e-12,
): number[] {
  const dim = x0.length;
  let simplex = [x0, ...x0.map((_, k) => x0.map((v, i) => (i === k ? v + step[k]! : v)))].map(
    (x) => ({ x, v: f(x) }),
  );
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.v - b.v);
    const bestV = simplex[0]!.v,
      worst = simplex[dim]!;
    if (Math.abs(worst.v - bestV) <= tol * (Math.abs(bestV) + tol)) break;
    const centroid = x0.map((_, i) => simplex.slice(0, dim).reduce((a, p) => a + p.x[i]!, 0) / dim);
    const along = (t: number) => centroid.map((c, i) => c + t * (worst.x[i]! - c));
    const r = { x: along(-1), v: 0 };
    r.v = f(r.x);
    if (r.v < bestV) {
      const e = { x: along(-2), v: 0 };
      e.v = f(e.x);
      simplex[dim] = e.v < r.v ? e : r;
    } else if (r.v < simplex[dim - 1]!.v) {
      simplex[dim] = r;
    } else {
      const k = { x: along(r.v < worst.v ? -0.5 : 0.5), v: 0 };
      k.v = f(k.x);
      if (k.v < Math.min(r.v, worst.v)) simplex[dim] = k;
      else {
        const b = simplex[0]!.x;
        simplex = simplex
          .map((p, i) => (i === 0 ? p : { x: p.x.map((v, j) => b[j]! + 0.5 * (v - b[j]!)), v: 0 }))
          .map((p, i) => (i === 0 ? p : { x: p.x, v: f(p.x) }));
      }
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return simplex[0]!.x;
}
