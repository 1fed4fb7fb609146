/**
 * Recognizes the trials that the closed-form theory describes: the single mode of a two-layer ReLU
 * net with one hidden unit, f = a * relu(w * x), no bias, trained by full-batch gradient descent on
 * the mean logistic or hinge loss with no regularizer, from an explicit balanced start a0 = w0 = eps
 * > 0, on one input of norm r carried by a fraction p of the samples with label +1. The theory
 * itself (the exponential integral and its inverse) lives in the engine's `theory` module; the
 * analysis package takes it as an injected `ModeTheory` so that it never loads TensorFlow.js.
 */
import type { CompiledTrial } from '@dynlab/spec';
import { probeForFeature, probeScale } from './series';

/** One mode: the fraction of samples carrying it, its norm, and the initial output f0 = r * eps^2. */
export interface Mode {
  p: number;
  r: number;
  f0: number;
}

/** The closed forms an analyzer needs (the engine's `theory` module satisfies this interface). */
export interface ModeTheory {
  /** Output of the logistic-loss mode at gradient-flow time t. */
  logisticModeOutput(t: number, mode: Mode): number;
  /** Output of the hinge-loss mode at gradient-flow time t (capped at the margin). */
  hingeModeOutput(t: number, mode: Mode, margin?: number): number;
}

/** A trial the theory describes, and where to read its mode. */
export interface ClosedFormCase {
  loss: 'logistic' | 'hinge';
  margin: number;
  mode: Mode;
  /** The probe on the input (its output times r / scale is f). */
  probe: number;
}

/** The theory's view of the trial, or undefined when the trial is not one of its cases. */
export function closedFormCase(trial: CompiledTrial): ClosedFormCase | undefined {
  const { model, loss, optimizer, regularizer, init } = trial;
  if (
    model.kind !== 'relu' ||
    model.bias ||
    trial.widths.length !== 3 ||
    trial.widths[0] !== 1 ||
    trial.widths[1] !== 1
  )
    return undefined;
  if (!model.trainable.every(Boolean)) return undefined;
  if ((loss.kind !== 'logistic' && loss.kind !== 'hinge') || loss.reduction !== 'mean')
    return undefined;
  if (
    optimizer.kind !== 'gd' ||
    regularizer.weightDecay !== 0 ||
    regularizer.spectralDecoupling !== 0
  )
    return undefined;
  const w0 = init.layers.find((l) => l.layer === 0)?.weights[0];
  const a0 = init.layers.find((l) => l.layer === 1)?.weights[0];
  if (w0 === undefined || a0 === undefined || !(w0 > 0) || a0 !== w0) return undefined;
  const probe = probeForFeature(trial, 0);
  if (probe < 0 || !(probeScale(trial, probe) > 0)) return undefined;
  const carried = carriedMode(trial);
  if (!carried) return undefined;
  return {
    loss: loss.kind,
    margin: loss.margin,
    mode: { p: carried.p, r: carried.r, f0: carried.r * w0 * w0 },
    probe,
  };
}

/** The fraction of samples with x = r > 0 and label +1 (the samples a unit with w > 0 can fit), and r. */
function carriedMode(trial: CompiledTrial): { p: number; r: number } | undefined {
  const data = trial.data;
  if (data.kind === 'features') {
    const f = data.features[0]!;
    if (
      !f.informative ||
      f.knockedOut ||
      !(f.norm > 0) ||
      !(f.frequency > 0) ||
      data.labelNoise !== 0
    )
      return undefined;
    // The engine's features model: round(p n) carriers split evenly over the classes, the odd one positive.
    const n = data.n;
    const k = Math.round(f.frequency * n);
    const kPos = Math.max(Math.ceil(k / 2), k - (n - Math.ceil(n / 2)));
    return { p: kPos / n, r: f.norm };
  }
  if (data.kind === 'inline') {
    let r = 0,
      count = 0;
    for (let i = 0; i < data.n; i++) {
      const x = data.x[i]!;
      if (x === 0) continue;
      if (x < 0 || data.y[i] !== 1 || (r !== 0 && x !== r)) return undefined;
      r = x;
      count++;
    }
    return count > 0 ? { p: count / data.n, r } : undefined;
  }
  return undefined;
}

/** The theory's output of the mode at gradient-flow time t. */
export function theoryOutput(theory: ModeTheory, c: ClosedFormCase, t: number): number {
  return c.loss === 'logistic'
    ? theory.logisticModeOutput(t, c.mode)
    : theory.hingeModeOutput(t, c.mode, c.margin);
}
