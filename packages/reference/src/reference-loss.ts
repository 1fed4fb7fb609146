/**
 * The per-sample losses of a trial in float64 and their derivatives in the output f.
 *
 * Why separate: the three losses and their conventions (stable logistic, hinge margin, the
 * one-half in the squared loss) are what backends most easily disagree on, so they are stated
 * once, here, next to their derivatives.
 */
import type { CompiledTrial } from '@dynlab/spec';

type Loss = CompiledTrial['loss'];

/** loss(y, f): logistic log(1 + exp(-y f)) (computed without overflow), hinge max(0, margin - y f), squared (f - y)^2 / 2. */
export function lossValue(loss: Loss, y: number, f: number): number {
  const m = y * f;
  switch (loss.kind) {
    case 'logistic':
      return Math.max(-m, 0) + Math.log1p(Math.exp(-Math.abs(m)));
    case 'hinge':
      return Math.max(0, loss.margin - m);
    case 'squared':
      return ((f - y) * (f - y)) / 2;
  }
}

/** d loss / d f. Hinge at the kink (y f = margin) takes the subgradient 0. */
export function lossDerivative(loss: Loss, y: number, f: number): number {
  const m = y * f;
  switch (loss.kind) {
    case 'logistic':
      // -y * sigmoid(-m), written so that neither branch overflows.
      return m >= 0 ? (-y * Math.exp(-m)) / (1 + Math.exp(-m)) : -y / (1 + Math.exp(m));
    case 'hinge':
      return loss.margin - m > 0 ? -y : 0;
    case 'squared':
      return f - y;
  }
}
