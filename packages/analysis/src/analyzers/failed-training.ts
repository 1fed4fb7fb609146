/**
 * failed-training: trials that never leave chance, and where in the space of initial weights they
 * lie. A trial is stuck when its final loss has not gone meaningfully below the loss of the zero
 * output (chance: ln 2 for logistic, the margin for hinge, 1/2 for squared, times n for a summed
 * loss), which is where a dead ReLU unit or a mode that decays to zero leaves it; the finding gives
 * the dead-unit fraction. A diverged trial is a failure too. Per sweep, trials are grouped by their
 * swept initial-weight values (axes under `init.` by default), seeds pooled, and each cell of this
 * phase diagram is reported as data: its axis values, trials, and the fraction that learned.
 */
import { z } from 'zod';
import type { CompiledTrial, TelemetryColumns, TrialOutcome } from '@dynlab/spec';
import { defineAnalyzer } from '../define-analyzer';
import { deadUnitFraction } from '../series';
import { groupBy, paramEvidence } from '../trial-key';

export const failedTrainingOptions = z
  .object({
    /** Stuck when the final loss is above (1 - minProgress) times the chance loss. @default 0.02 */
    minProgress: z.number().min(0).max(1).default(0.02),
    /** Prefixes of the axis paths that span the phase diagram. @default ['init.'] */
    axes: z.array(z.string()).default(['init.']),
  })
  .strict();

/** The loss of the zero output, which a stuck network sits at. */
export function chanceLoss(trial: CompiledTrial): number {
  const perSample =
    trial.loss.kind === 'logistic'
      ? Math.LN2
      : trial.loss.kind === 'hinge'
        ? trial.loss.margin
        : 0.5;
  return trial.loss.reduction === 'sum' ? perSample * trial.data.n : perSample;
}

/** How a trial ended, as the phase diagram sees it. */
export interface TrainingVerdict {
  learned: boolean;
  stuck: boolean;
  diverged: boolean;
  finalLoss: number;
  chance: number;
  /** Final dead-unit fraction (mean over hidden layers), NaN when not recorded. */
  deadUnits: number;
}

/** Judges one trial from its outcome and series. */
export function trainingVerdict(
  trial: CompiledTrial,
  outcome: TrialOutcome,
  series: TelemetryColumns,
  minProgress: number,
): TrainingVerdict {
  const chance = chanceLoss(trial);
  const finalLoss =
    series.loss.length > 0 ? series.loss[series.loss.length - 1]! : outcome.finalLoss;
  const dead = deadUnitFraction(series);
  const diverged = outcome.status === 'diverged' || !Number.isFinite(finalLoss);
  const stuck = !diverged && finalLoss > (1 - minProgress) * chance;
  return {
    learned: outcome.status === 'ok' && !stuck && !diverged,
    stuck,
    diverged,
    finalLoss,
    chance,
    deadUnits: dead.length > 0 ? dead[dead.length - 1]! : NaN,
  };
}

const fmt = (v: number) => Number(v.toPrecision(3));

export const failedTrainingAnalyzer = defineAnalyzer({
  name: 'failed-training',
  version: '1.0.0',
  description:
    'Flags trials stuck at chance (with their dead units) or diverged, and maps success over the initial-weight axes of a sweep.',
  options: failedTrainingOptions,
  perSweep: true,
  setup(ctx, o) {
    const cells: {
      key: string;
      coords: Record<string, number>;
      verdict: TrainingVerdict;
      trialId: string;
    }[] = [];
    return {
      onTrialEnd(trial, outcome, series) {
        if (outcome.status === 'cancelled' || outcome.status === 'failed') return;
        const v = trainingVerdict(trial, outcome, series, o.minProgress);
        if (v.stuck)
          ctx.emit({
            kind: 'stuck-at-chance',
            severity: 'warning',
            trialId: trial.id,
            evidence: {
              finalLoss: v.finalLoss,
              chanceLoss: v.chance,
              progress: 1 - v.finalLoss / v.chance,
              stepsDone: outcome.stepsDone,
              deadUnits: v.deadUnits,
            },
            message: `stuck at chance: final loss ${fmt(v.finalLoss)} against ${fmt(v.chance)} for the zero output${Number.isFinite(v.deadUnits) ? `, ${fmt(100 * v.deadUnits)}% of hidden units dead` : ''}`,
          });
        if (v.diverged)
          ctx.emit({
            kind: 'diverged',
            severity: 'warning',
            trialId: trial.id,
            evidence: { stepsDone: outcome.stepsDone, learningRate: trial.optimizer.learningRate },
            message: `diverged (non-finite loss or parameters) at step ${outcome.stepsDone}`,
          });
        const coords = paramEvidence(trial, o.axes);
        if (Object.keys(coords).length > 0)
          cells.push({
            key: JSON.stringify(Object.entries(coords).sort()),
            coords,
            verdict: v,
            trialId: trial.id,
          });
      },
      onSweepEnd() {
        if (cells.length === 0) return;
        let learnedCells = 0,
          failedCells = 0,
          mixedCells = 0;
        const groups = groupBy(cells, (c) => c.key);
        for (const [key, group] of groups) {
          const learned = group.filter((c) => c.verdict.learned).length;
          const fraction = learned / group.length;
          if (fraction === 1) learnedCells++;
          else if (fraction === 0) failedCells++;
          else mixedCells++;
          const dead = group.map((c) => c.verdict.deadUnits).filter(Number.isFinite);
          ctx.emit({
            kind: 'phase-cell',
            severity: 'info',
            discriminator: key,
            relatedTrials: group.map((c) => c.trialId),
            evidence: {
              ...group[0]!.coords,
              trials: group.length,
              learned,
              learnedFraction: fraction,
              stuck: group.filter((c) => c.verdict.stuck).length,
              diverged: group.filter((c) => c.verdict.diverged).length,
              meanFinalLoss: group.reduce((a, c) => a + c.verdict.finalLoss, 0) / group.length,
              ...(dead.length > 0
                ? { meanDeadUnits: dead.reduce((a, b) => a + b, 0) / dead.length }
                : {}),
            },
            message: `${Object.entries(group[0]!.coords)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}: ${learned} of ${group.length} learned`,
          });
        }
        ctx.emit({
          kind: 'phase-map',
          severity: failedCells + mixedCells > 0 ? 'warning' : 'info',
          evidence: {
            cells: groups.size,
            learnedCells,
            failedCells,
            mixedCells,
            trials: cells.length,
            axes: Object.keys(cells[0]!.coords).length,
          },
          message: `phase map over ${o.axes.join(', ')}: ${learnedCells} cells learned, ${failedCells} failed, ${mixedCells} mixed (of ${groups.size})`,
        });
        cells.length = 0;
      },
    };
  },
});
