/**
 * The learning time the trial table falls back on when no learning-curve finding gives one: a
 * model-free rule that works on any recorded error curve, so every trial that learned has a time
 * even when the analyzer did not run.
 */
import type { TelemetryColumns } from '@dynlab/spec';

/**
 * The first recorded step at which the training error is at most half its value at the first
 * recorded step. Undefined when nothing was recorded, the initial error is zero or not finite
 * (nothing to learn), or the error never halved (the trial did not learn).
 */
export function halfErrorTime(t: Pick<TelemetryColumns, 'steps' | 'error'>): number | undefined {
  const initial = t.error[0];
  if (initial === undefined || !Number.isFinite(initial) || initial <= 0) return undefined;
  for (let i = 0; i < t.error.length && i < t.steps.length; i++) {
    if (t.error[i]! <= initial / 2) return t.steps[i];
  }
  return undefined;
}
