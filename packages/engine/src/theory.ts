/**
 * Closed forms for the learning dynamics of one mode (Tachet des Combes et al., arXiv 1809.06848):
 * the two-layer ReLU net f = a * relu(w * x) on one input of norm r that a fraction p of the samples
 * carry (all with the same label y, taken as +1; the other samples have x = 0 and f = 0), started
 * balanced at a0 = w0 = eps (so f0 = r * eps^2), trained by gradient flow on the mean loss with
 * time t = learningRate * step. The engine is tested against these; analyzers may use them to
 * predict learning times.
 *
 * Balanced weights stay balanced (a^2 - w^2 is conserved), so f = r a^2 and
 * df/dt = 2 p r f * (-dl/df):
 * - logistic loss: ln(f / f0) + Ei(f) - Ei(f0) = 2 p r t (Ei: the exponential integral);
 * - hinge loss (margin m): f = f0 * exp(2 p r t) until f = m, then f stays at m;
 * - a start with y * a0 <= -w0 or w0 <= 0 never learns the mode (the unit dies or the output decays
 *   to 0, so the loss of the carriers stays at ln 2).
 */

/** Euler-Mascheroni constant. */
const GAMMA = 0.5772156649015329;

/**
 * The exponential integral Ei(x) = -PV int_{-x}^inf e^-s / s ds, for x != 0 (-Infinity at 0).
 * Power series for |x| <= 40 (and x > -1), the asymptotic series beyond 40, and the continued
 * fraction of E1 for x < -1; about 1e-14 relative.
 */
export function ei(x: number): number {
  if (x === 0) return -Infinity;
  if (Number.isNaN(x)) return NaN;
  if (x > 709) return Infinity;
  if (x > 40) {
    let term = 1;
    let sum = 1;
    for (let k = 1; k < 40; k++) {
      const next = (term * k) / x;
      if (next > term) break;
      term = next;
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return (Math.exp(x) / x) * sum;
  }
  if (x > -1) {
    let term = 1;
    let sum = 0;
    for (let k = 1; k < 500; k++) {
      term *= x / k;
      const add = term / k;
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return GAMMA + Math.log(Math.abs(x)) + sum;
  }
  return -e1ContinuedFraction(-x);
}

/** E1(z) for z > 1 by the modified Lentz continued fraction. */
function e1ContinuedFraction(z: number): number {
  const tiny = 1e-300;
  let b = z + 1;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * i;
    b += 2;
    d = 1 / (an * d + b);
    c = b + an / c;
    const del = c * d;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h * Math.exp(-z);
}

/** One mode: the fraction p of samples that carry the input, its norm r, and the initial output f0 = r * eps^2. */
export interface Mode {
  p: number;
  r: number;
  f0: number;
}

/** The initial output of a balanced start a0 = w0 = eps on an input of norm r: r * eps^2. */
export function balancedF0(r: number, eps: number): number {
  return r * eps * eps;
}

/** Gradient-flow time at which the logistic-loss mode reaches output f (f >= f0). */
export function logisticModeTime(f: number, mode: Mode): number {
  return (Math.log(f / mode.f0) + ei(f) - ei(mode.f0)) / (2 * mode.p * mode.r);
}

/** The output of the logistic-loss mode at gradient-flow time t: the root of ln(f/f0) + Ei(f) - Ei(f0) = 2 p r t. */
export function logisticModeOutput(t: number, mode: Mode): number {
  const target = 2 * mode.p * mode.r * t;
  if (target <= 0) return mode.f0;
  const base = Math.log(mode.f0) + ei(mode.f0);
  // Bisection on u = ln f of g(u) = u + Ei(e^u) - (ln f0 + Ei(f0)) - target, which increases in u;
  // the root lies in [ln f0, ln f0 + target] since Ei(f) >= Ei(f0) there. (Newton crawls where
  // g grows like e^f / f, so plain bisection: 60-odd halvings reach double precision.)
  let lo = Math.log(mode.f0);
  let hi = lo + target;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * Math.max(1, Math.abs(lo)); i++) {
    const u = (lo + hi) / 2;
    const g = u + ei(Math.exp(u)) - base - target;
    if (g > 0 || Number.isNaN(g)) hi = u;
    else lo = u;
  }
  return Math.exp((lo + hi) / 2);
}

/** The output of the hinge-loss mode at gradient-flow time t: f0 * exp(2 p r t), capped at the margin. */
export function hingeModeOutput(t: number, mode: Mode, margin = 1): number {
  if (mode.f0 >= margin) return mode.f0;
  return Math.min(margin, mode.f0 * Math.exp(2 * mode.p * mode.r * t));
}

/** Gradient-flow time at which the hinge-loss mode reaches output f (<= margin): ln(f/f0) / (2 p r). */
export function hingeModeTime(f: number, mode: Mode): number {
  return Math.log(f / mode.f0) / (2 * mode.p * mode.r);
}

/** Whether a mode started at (a0, w0) with label y is ever learned: not when y*a0 <= -w0 or w0 <= 0. */
export function modeLearns(start: { a0: number; w0: number; y?: number }): boolean {
  const y = start.y ?? 1;
  return start.w0 > 0 && y * start.a0 > -start.w0;
}

/** Mean logistic loss of the mode's dataset at output f: p ln(1 + e^-f) + (1 - p) ln 2. */
export function logisticModeLoss(f: number, p: number): number {
  const softplus = f > 0 ? Math.log1p(Math.exp(-f)) : -f + Math.log1p(Math.exp(f));
  return p * softplus + (1 - p) * Math.LN2;
}
