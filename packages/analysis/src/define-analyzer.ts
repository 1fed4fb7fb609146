/**
 * The plug-in interface. An analyzer is a plain definition (name, version, an options schema with
 * its defaults, and a `setup` that returns optional hooks), so that a new analyzer is one file and
 * the host owns everything around it: option validation, timeouts, error isolation, per-sweep
 * state, finding ids and metrics. `defineAnalyzer` checks the definition's shape once, at module
 * load, and gives plugin authors the option types inferred from the schema.
 */
import { ValidationError, type Issue, type Logger } from '@dynlab/core';
import type {
  CompiledSweep,
  CompiledTrial,
  Severity,
  TelemetryColumns,
  TrialOutcome,
} from '@dynlab/spec';
import type { z } from 'zod';
import type { AnalyzerMetrics } from './analyzer-metrics';

/** What an analyzer hands to `ctx.emit`; the host fills in analyzer, version, sweep, id and time. */
export interface FindingInput {
  /** Stable kebab-case kind, e.g. `starved-feature`. */
  kind: string;
  /** @default 'info' */
  severity?: Severity;
  /** The trial the finding is about; empty (the default) for a per-sweep finding. */
  trialId?: string;
  /** Numeric evidence; entries that are not finite numbers are left out. @default {} */
  evidence?: Record<string, number>;
  message: string;
  /** Other trials the finding is about. @default [] */
  relatedTrials?: string[];
  /** Tells apart findings of one kind about one trial (a feature index, a pair key). @default '' */
  discriminator?: string;
}

/** A finished trial as a per-sweep analyzer sees it at the end of the sweep (no series: see `onTrialEnd`). */
export interface SweepTrial {
  trial: CompiledTrial;
  outcome: TrialOutcome;
}

/** The optional hooks `setup` returns; each may be async. */
export interface AnalyzerHooks {
  /** Called with each telemetry chunk of a trial, in order. */
  onChunk?(trial: CompiledTrial, chunk: TelemetryColumns): void | Promise<void>;
  /** Called once per trial with its outcome and its whole series (the host's accumulated chunks). */
  onTrialEnd?(
    trial: CompiledTrial,
    outcome: TrialOutcome,
    series: TelemetryColumns,
  ): void | Promise<void>;
  /**
   * Called once when the sweep ends. `trials` holds every finished trial of the sweep (spec and
   * outcome) for analyzers defined with `perSweep: true`, and is empty for the others.
   */
  onSweepEnd?(
    sweep: CompiledSweep | undefined,
    trials: readonly SweepTrial[],
  ): void | Promise<void>;
  /** Called last, when the sweep ends or the host closes: release what setup acquired. */
  close?(): void | Promise<void>;
}

/** What the host gives an analyzer's `setup`, once per sweep. */
export interface AnalyzerContext {
  /** A logger whose lines carry `analyzer` and `sweep`. */
  logger: Logger;
  metrics: AnalyzerMetrics;
  sweepId: string;
  /** The sweep's spec when the service knows it (a replay may not). */
  sweep: CompiledSweep | undefined;
  /** Emits a finding; the host completes it and passes it to its `onFinding` callback. */
  emit(finding: FindingInput): void;
  /** Aborted when the sweep's state is released, the host closes, or setup runs past its time. */
  signal: AbortSignal;
}

/**
 * An analyzer: a named, versioned factory of hooks. `setup` runs once per sweep, on the sweep's
 * first event, with options already validated and defaulted by `options`.
 */
export interface AnalyzerDefinition<O = unknown> {
  /** Unique kebab-case name (also the metrics label). */
  name: string;
  /** Written into every finding, so that a result can be traced to the code that made it. */
  version: string;
  /** One line on what the analyzer finds. */
  description: string;
  /** Zod schema of the options, with defaults; unknown keys should be rejected (`.strict()`). */
  options: z.ZodType<O, z.ZodTypeDef, unknown>;
  /** True when the analyzer compares trials across the sweep (the host keeps the trial list for it). @default false */
  perSweep?: boolean;
  setup(ctx: AnalyzerContext, options: O): AnalyzerHooks | void | Promise<AnalyzerHooks | void>;
}

/** An analyzer definition whatever its options type (what hosts and registries hold). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAnalyzerDefinition = AnalyzerDefinition<any>;

/** The argument of `defineAnalyzer`: a definition whose options type comes from its schema. */
export interface AnalyzerSpec<S extends z.ZodTypeAny> {
  name: string;
  version: string;
  description: string;
  options: S;
  /** @default false */
  perSweep?: boolean;
  setup(
    ctx: AnalyzerContext,
    options: z.output<S>,
  ): AnalyzerHooks | void | Promise<AnalyzerHooks | void>;
}

const namePattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Defines an analyzer, checking its shape (kebab-case name, version, description, schema, setup).
 * Throws a ValidationError naming every problem, so a broken plugin fails when it is loaded.
 */
export function defineAnalyzer<S extends z.ZodTypeAny>(
  spec: AnalyzerSpec<S>,
): AnalyzerDefinition<z.output<S>> {
  const issues = definitionIssues(spec);
  if (issues.length > 0) throw new ValidationError(issues, { what: 'analyzer definition' });
  return Object.freeze({ ...spec, perSweep: spec.perSweep ?? false });
}

/** Every problem with a would-be analyzer definition (empty when it is one). */
export function definitionIssues(value: unknown): Issue[] {
  if (value === null || typeof value !== 'object')
    return [
      {
        path: '',
        message: `expected an analyzer definition object, got ${value === null ? 'null' : typeof value}`,
      },
    ];
  const d = value as Record<string, unknown>;
  const issues: Issue[] = [];
  if (typeof d.name !== 'string' || !namePattern.test(d.name))
    issues.push({
      path: 'name',
      message: `expected a kebab-case name such as 'my-analyzer', got ${JSON.stringify(d.name)}`,
    });
  if (typeof d.version !== 'string' || d.version.length === 0)
    issues.push({ path: 'version', message: 'expected a non-empty version string' });
  if (typeof d.description !== 'string')
    issues.push({ path: 'description', message: 'expected a one-line description' });
  const opts = d.options as { safeParse?: unknown } | undefined;
  if (opts === null || typeof opts !== 'object' || typeof opts.safeParse !== 'function')
    issues.push({
      path: 'options',
      message: 'expected a zod schema (with defaults) for the options',
    });
  if (d.perSweep !== undefined && typeof d.perSweep !== 'boolean')
    issues.push({ path: 'perSweep', message: 'expected a boolean' });
  if (typeof d.setup !== 'function')
    issues.push({
      path: 'setup',
      message: 'expected a function setup(ctx, options) returning hooks',
    });
  return issues;
}

/** True when `value` is an analyzer definition (duck-typed: a plugin may bring its own zod). */
export function isAnalyzerDefinition(value: unknown): value is AnyAnalyzerDefinition {
  return definitionIssues(value).length === 0;
}
