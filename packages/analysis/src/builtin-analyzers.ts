/**
 * The analyzers that ship with dynlab, by name. The learning-curve analyzer can compare with the
 * engine's closed-form theory only when that theory is injected, so the list is also available
 * from a factory that takes it (the analyzer service passes the engine's `theory`).
 */
import type { ModeTheory } from './closed-form-case';
import type { AnyAnalyzerDefinition } from './define-analyzer';
import { convergenceSpeedAnalyzer } from './analyzers/convergence-speed';
import { failedTrainingAnalyzer } from './analyzers/failed-training';
import { gradientShareAnalyzer } from './analyzers/gradient-share';
import { createLearningCurveAnalyzer } from './analyzers/learning-curve';
import { lossComparisonAnalyzer } from './analyzers/loss-comparison';
import { modesAnalyzer } from './analyzers/modes';
import { starvationCounterfactualAnalyzer } from './analyzers/starvation-counterfactual';

/** The built-in analyzers, with the learning-curve analyzer comparing against `theory` when given. */
export function createBuiltinAnalyzers(
  deps: { theory?: ModeTheory } = {},
): readonly AnyAnalyzerDefinition[] {
  return Object.freeze([
    gradientShareAnalyzer,
    starvationCounterfactualAnalyzer,
    createLearningCurveAnalyzer(deps),
    convergenceSpeedAnalyzer,
    failedTrainingAnalyzer,
    lossComparisonAnalyzer,
    modesAnalyzer,
  ]);
}

/** The built-in analyzers (no theory injected). */
export const builtinAnalyzers: readonly AnyAnalyzerDefinition[] = createBuiltinAnalyzers();

/** The built-in analyzer of that name, or undefined. */
export function getBuiltinAnalyzer(name: string): AnyAnalyzerDefinition | undefined {
  return builtinAnalyzers.find((a) => a.name === name);
}
