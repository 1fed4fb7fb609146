/**
 * The closed-form curve the report draws next to a trial's recorded probe output, for the trials
 * the theory describes (the single mode of a two-layer ReLU net from a balanced start; see
 * `closedFormCase` in @dynlab/analysis). The mode's output f on a carrying sample is predicted by
 * the engine's `theory` at gradient-flow time lr * step; the probe sees it scaled by
 * (probe value / r), the net being positively homogeneous in its input.
 */
import { closedFormCase, flowTime, probeScale, theoryOutput } from '@dynlab/analysis';
import { theory } from '@dynlab/engine';
import type { TheoryCurve } from '@dynlab/report';
import type { CompiledTrial } from '@dynlab/spec';

/** The theory curves of a trial at the recorded steps; empty when the trial is not a closed-form case. */
export function theoryCurves(trial: CompiledTrial, steps: readonly number[]): TheoryCurve[] {
  const c = closedFormCase(trial);
  if (!c || steps.length === 0) return [];
  const scale = probeScale(trial, c.probe) / c.mode.r;
  return [
    {
      quantity: 'probeOutputs',
      index: c.probe,
      steps: [...steps],
      values: steps.map((s) => theoryOutput(theory, c, flowTime(trial, s)) * scale),
    },
  ];
}
