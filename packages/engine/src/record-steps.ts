/**
 * The steps at which a trial's state is recorded. Learning curves are sigmoids in log time, so
 * the default is log-spaced; the first state (step 0, before any update) and the last are always
 * there so that every trajectory has its start and its end.
 */
import type { CompiledTrial } from '@dynlab/spec';

/**
 * The record schedule, ascending and without repeats: the explicit `record.steps` when given
 * (exactly those); else 0, k, 2k, ... and the last step when `record.every` = k > 0; else 0, the
 * last step and `record.logPoints` steps spaced evenly in log between 1 and the last (rounded, so
 * early ones coincide and there may be fewer).
 */
export function recordSteps(trial: CompiledTrial): number[] {
  const { steps, record } = trial;
  const set = new Set<number>();
  if (record.steps.length > 0) record.steps.forEach((s) => set.add(s));
  else if (record.every > 0) {
    for (let s = 0; s <= steps; s += record.every) set.add(s);
    set.add(steps);
  } else {
    set.add(0);
    set.add(steps);
    const k = record.logPoints;
    for (let i = 0; i < k; i++)
      set.add(k === 1 ? 1 : Math.round(Math.exp((Math.log(steps) * i) / (k - 1))));
  }
  return [...set].sort((a, b) => a - b);
}
