/**
 * When a curve gets somewhere: the step at which a recorded series first reaches a level,
 * interpolated in log time (recording is log-spaced and the dynamics are sigmoids in log time, so
 * linear interpolation in steps would bias every crossing late). Learning times are what the
 * convergence-speed, loss-comparison and modes analyzers compare, so they share this one definition.
 */
import type { CompiledTrial } from '@dynlab/spec';

/**
 * The first step at which `values` reaches `level`, coming from the side where it starts; the step
 * of the first row when it starts there already; undefined when it never does.
 */
export function crossingStep(
  steps: readonly number[],
  values: readonly number[],
  level: number,
): number | undefined {
  const n = Math.min(steps.length, values.length);
  if (n === 0 || !Number.isFinite(values[0])) return undefined;
  if (values[0] === level) return steps[0];
  const rising = values[0]! < level;
  const reached = (v: number) => (rising ? v >= level : v <= level);
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) return undefined;
    if (!reached(v)) continue;
    const v0 = values[i - 1]!;
    const frac = v === v0 ? 1 : (level - v0) / (v - v0);
    const s0 = steps[i - 1]!,
      s1 = steps[i]!;
    if (s0 <= 0) return s0 + frac * (s1 - s0);
    return Math.exp(Math.log(s0) + frac * (Math.log(s1) - Math.log(s0)));
  }
  return undefined;
}

/** The first step at which `values` is half-way from its first to its last value (undefined when they are equal). */
export function halfwayStep(
  steps: readonly number[],
  values: readonly number[],
): number | undefined {
  const first = values[0],
    last = values[values.length - 1];
  if (
    first === undefined ||
    last === undefined ||
    !Number.isFinite(first) ||
    !Number.isFinite(last) ||
    first === last
  )
    return undefined;
  return crossingStep(steps, values, (first + last) / 2);
}

/** Gradient-flow time of a step: t = learning rate * step, the time unit of the closed-form theory. */
export function flowTime(trial: CompiledTrial, step: number): number {
  return trial.optimizer.learningRate * step;
}
