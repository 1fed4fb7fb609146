/**
 * `AnalyzerHost` runs analyzer plug-ins over the telemetry of sweeps. It exists so that a plugin is
 * only science: the host validates options (every problem with its path), rejects duplicate names,
 * bounds setup (and hook) time, isolates a plugin that throws (logged, counted, and reported as an
 * `analyzer-error` finding while the others go on), accumulates each trial's chunks into one series,
 * keeps per-sweep state from the sweep's first event to its end, and stamps every finding with a
 * deterministic id.
 *
 * Events of one sweep are handled strictly in the order they were called (one promise queue per
 * sweep), so a service may fire them without awaiting; within one event the analyzers run
 * concurrently. A hook that blocks the event loop cannot be interrupted: time limits only help
 * against hooks that wait.
 */
import { performance } from 'node:perf_hooks';
import {
  DynlabError,
  ErrorCode,
  TimeoutError,
  ValidationError,
  silentLogger,
  toDynlabError,
  type Issue,
  type Logger,
} from '@dynlab/core';
import {
  appendColumns,
  emptyColumns,
  formatPath,
  type CompiledSweep,
  type CompiledTrial,
  type Finding,
  type Severity,
  type TelemetryColumns,
  type TrialOutcome,
} from '@dynlab/spec';
import { noopMetrics, type AnalyzerMetrics, type HookName } from './analyzer-metrics';
import {
  definitionIssues,
  type AnalyzerContext,
  type AnalyzerHooks,
  type AnyAnalyzerDefinition,
  type FindingInput,
  type SweepTrial,
} from './define-analyzer';
import { findingId } from './finding-id';
import { sliceRows } from './series';

/** One analyzer to host: its definition and its options as the user wrote them. */
export interface AnalyzerEntry {
  definition: AnyAnalyzerDefinition;
  /** Raw options, validated (and defaulted) by the definition's schema. @default {} */
  options?: unknown;
}

/** How to build a host. */
export interface AnalyzerHostOptions {
  analyzers: readonly AnalyzerEntry[];
  /** Receives every finding (the service publishes it); the host awaits it before an event completes. */
  onFinding(finding: Finding): void | Promise<void>;
  /** @default silentLogger */
  logger?: Logger;
  /** @default noopMetrics */
  metrics?: AnalyzerMetrics;
  /** A setup that has not finished after this long is an error and the analyzer sits the sweep out. @default 5000 */
  setupTimeoutMs?: number;
  /** A hook (onChunk, onTrialEnd, onSweepEnd, close) that has not finished after this long is an error; 0: no limit. @default 60000 */
  hookTimeoutMs?: number;
  /** `analyzer-error` findings per analyzer and sweep before the host only counts and logs (one summary at the end). @default 10 */
  maxErrorFindings?: number;
  /** Clock for `timeMs`. @default Date.now */
  now?: () => number;
}

/** The kind of the finding the host emits about an analyzer that failed. */
export const analyzerErrorKind = 'analyzer-error';

const severities: ReadonlySet<string> = new Set<Severity>(['info', 'warning', 'alert']);
const kindPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

interface Hosted {
  def: AnyAnalyzerDefinition;
  options: unknown;
}

interface Instance {
  hosted: Hosted;
  hooks: AnalyzerHooks | undefined;
  controller: AbortController;
  logger: Logger;
  errors: number;
}

interface SweepState {
  sweepId: string;
  sweep: CompiledSweep | undefined;
  queue: Promise<void>;
  instances: Instance[];
  /** Accumulated series of the trials still running. */
  series: Map<string, TelemetryColumns>;
  ended: Set<string>;
  trials: SweepTrial[];
  pending: Set<Promise<void>>;
}

/** Hosts analyzers and routes sweep events to them; findings leave through `onFinding`. */
export class AnalyzerHost {
  private readonly hosted: Hosted[];
  private readonly onFinding: AnalyzerHostOptions['onFinding'];
  private readonly logger: Logger;
  private readonly metrics: AnalyzerMetrics;
  private readonly setupTimeoutMs: number;
  private readonly hookTimeoutMs: number;
  private readonly maxErrorFindings: number;
  private readonly now: () => number;
  private readonly sweeps = new Map<string, SweepState>();
  private closed = false;

  /** Validates every definition and its options at once; throws a ValidationError naming each problem by path. */
  constructor(opts: AnalyzerHostOptions) {
    const issues: Issue[] = [];
    const hosted: Hosted[] = [];
    const names = new Map<string, number>();
    opts.analyzers.forEach((entry, i) => {
      const defIssues = definitionIssues(entry?.definition);
      for (const d of defIssues)
        issues.push({
          path: formatPath(['analyzers', i, 'definition', ...(d.path ? [d.path] : [])]),
          message: d.message,
        });
      if (defIssues.length > 0) return;
      const def = entry.definition;
      const first = names.get(def.name);
      if (first !== undefined)
        issues.push({
          path: formatPath(['analyzers', i, 'definition', 'name']),
          message: `duplicate analyzer name '${def.name}' (also analyzers[${first}])`,
        });
      else names.set(def.name, i);
      const parsed = def.options.safeParse(entry.options ?? {});
      if (parsed.success) hosted.push({ def, options: parsed.data });
      else
        for (const z of parsed.error.issues)
          issues.push({
            path: formatPath(['analyzers', i, 'options', ...z.path]),
            message: `${z.message} (analyzer ${def.name})`,
          });
    });
    for (const [key, value] of [
      ['setupTimeoutMs', opts.setupTimeoutMs],
      ['hookTimeoutMs', opts.hookTimeoutMs],
      ['maxErrorFindings', opts.maxErrorFindings],
    ] as const)
      if (value !== undefined && !(Number.isFinite(value) && value >= 0))
        issues.push({ path: key, message: `expected a number >= 0, got ${String(value)}` });
    if (issues.length > 0) throw new ValidationError(issues, { what: 'analyzer configuration' });
    this.hosted = hosted;
    this.onFinding = opts.onFinding;
    this.logger = opts.logger ?? silentLogger;
    this.metrics = opts.metrics ?? noopMetrics;
    this.setupTimeoutMs = opts.setupTimeoutMs ?? 5000;
    this.hookTimeoutMs = opts.hookTimeoutMs ?? 60_000;
    this.maxErrorFindings = opts.maxErrorFindings ?? 10;
    this.now = opts.now ?? Date.now;
  }

  /** Names of the hosted analyzers, in order. */
  get analyzerNames(): string[] {
    return this.hosted.map((h) => h.def.name);
  }

  /** Ids of the sweeps that currently hold state (opened and not ended). */
  get openSweeps(): string[] {
    return [...this.sweeps.keys()];
  }

  /**
   * Opens a sweep: runs every analyzer's setup for it. Optional: the first event of an unknown
   * sweep opens it; calling it first gives the analyzers the sweep's spec.
   */
  async openSweep(sweepId: string, sweep?: CompiledSweep): Promise<void> {
    const state = this.state(sweepId, sweep);
    if (sweep && !state.sweep) state.sweep = sweep;
    await state.queue;
  }

  /** Hands one telemetry chunk of a trial to the analyzers and adds it to the trial's series. */
  async chunk(sweepId: string, trial: CompiledTrial, chunk: TelemetryColumns): Promise<void> {
    const state = this.state(sweepId);
    return this.enqueue(state, async () => {
      if (state.ended.has(trial.id)) return;
      const acc = state.series.get(trial.id);
      const last = acc?.steps[acc.steps.length - 1] ?? -1;
      let first = 0;
      while (first < chunk.steps.length && chunk.steps[first]! <= last) first++;
      if (first === chunk.steps.length) return;
      const fresh = first === 0 ? chunk : sliceRows(chunk, first);
      state.series.set(
        trial.id,
        appendColumns(
          acc ?? emptyColumns(fresh.features, fresh.probes, fresh.layers, fresh.trainPoints),
          fresh,
        ),
      );
      await this.each(state, 'onChunk', trial.id, (h) => h.onChunk?.(trial, fresh));
    });
  }

  /**
   * Ends a trial: hands its outcome and accumulated series to the analyzers, then drops the series.
   * A second end of the same trial (a redelivered result) is ignored.
   */
  async trialEnd(sweepId: string, trial: CompiledTrial, outcome: TrialOutcome): Promise<void> {
    const state = this.state(sweepId);
    return this.enqueue(state, async () => {
      if (state.ended.has(trial.id)) return;
      state.ended.add(trial.id);
      const series =
        state.series.get(trial.id) ??
        emptyColumns(trial.inputDim, trial.record.probes.length, trial.widths.length - 1);
      state.series.delete(trial.id);
      if (this.hosted.some((h) => h.def.perSweep === true)) state.trials.push({ trial, outcome });
      await this.each(state, 'onTrialEnd', trial.id, (h) => h.onTrialEnd?.(trial, outcome, series));
    });
  }

  /** Ends a sweep: per-sweep hooks, then close, then the sweep's state is released. Unknown sweeps are ignored. */
  async sweepEnd(sweepId: string): Promise<void> {
    this.assertOpen();
    const state = this.sweeps.get(sweepId);
    if (!state) return;
    this.sweeps.delete(sweepId);
    await this.enqueue(state, async () => {
      await this.each(state, 'onSweepEnd', '', (h, inst) =>
        h.onSweepEnd?.(state.sweep, inst.hosted.def.perSweep === true ? state.trials : []),
      );
      await this.release(state);
    });
  }

  /** Closes every open sweep's analyzers (without their per-sweep conclusions) and refuses further events. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const states = [...this.sweeps.values()];
    this.sweeps.clear();
    await Promise.all(states.map((s) => this.enqueue(s, () => this.release(s))));
  }

  private assertOpen(): void {
    if (this.closed) throw new DynlabError(ErrorCode.Cancelled, 'the analyzer host is closed');
  }

  private state(sweepId: string, sweep?: CompiledSweep): SweepState {
    this.assertOpen();
    const existing = this.sweeps.get(sweepId);
    if (existing) return existing;
    const state: SweepState = {
      sweepId,
      sweep,
      queue: Promise.resolve(),
      instances: [],
      series: new Map(),
      ended: new Set(),
      trials: [],
      pending: new Set(),
    };
    this.sweeps.set(sweepId, state);
    state.queue = Promise.all(this.hosted.map((h) => this.setup(state, h))).then((instances) => {
      state.instances = instances;
    });
    return state;
  }

  /** Runs `task` after every earlier event of the sweep, then waits for the findings it emitted. */
  private enqueue(state: SweepState, task: () => Promise<void>): Promise<void> {
    const run = state.queue.then(task).then(() => this.flush(state));
    state.queue = run.catch((err: unknown) =>
      this.logger.error('analyzer host task failed', {
        sweep: state.sweepId,
        error: toDynlabError(err),
      }),
    );
    return run;
  }

  private async flush(state: SweepState): Promise<void> {
    while (state.pending.size > 0) await Promise.all([...state.pending]);
  }

  private async setup(state: SweepState, hosted: Hosted): Promise<Instance> {
    const name = hosted.def.name;
    const inst: Instance = {
      hosted,
      hooks: undefined,
      controller: new AbortController(),
      logger: this.logger.child({ analyzer: name, sweep: state.sweepId }),
      errors: 0,
    };
    const ctx: AnalyzerContext = {
      logger: inst.logger,
      metrics: this.metrics,
      sweepId: state.sweepId,
      get sweep() {
        return state.sweep;
      },
      emit: (f) => this.emit(state, inst, f),
      signal: inst.controller.signal,
    };
    const started = performance.now();
    const result = Promise.resolve().then(() => hosted.def.setup(ctx, hosted.options));
    try {
      inst.hooks =
        (await withTimeout(
          result,
          this.setupTimeoutMs,
          () => `setup of analyzer '${name}' did not finish within ${this.setupTimeoutMs} ms`,
        )) ?? undefined;
    } catch (err) {
      inst.controller.abort(err);
      this.fail(state, inst, 'setup', '', err);
      // A setup that finishes after its time gets its resources released at once.
      result
        .then(
          (late) => late?.close?.(),
          () => undefined,
        )
        .catch(() => undefined);
    } finally {
      this.metrics.hookSeconds(
        { analyzer: name, hook: 'setup' },
        (performance.now() - started) / 1000,
      );
    }
    return inst;
  }

  /** Calls one hook on every analyzer of the sweep that set up, isolating failures. */
  private async each(
    state: SweepState,
    hook: Exclude<HookName, 'setup'>,
    trialId: string,
    call: (hooks: AnalyzerHooks, inst: Instance) => void | Promise<void> | undefined,
  ): Promise<void> {
    await Promise.all(
      state.instances.map(async (inst) => {
        const hooks = inst.hooks;
        if (!hooks || typeof hooks[hook] !== 'function' || inst.controller.signal.aborted) return;
        const started = performance.now();
        try {
          await withTimeout(
            Promise.resolve().then(() => call(hooks, inst)),
            this.hookTimeoutMs,
            () =>
              `${hook} of analyzer '${inst.hosted.def.name}' did not finish within ${this.hookTimeoutMs} ms`,
          );
        } catch (err) {
          this.fail(state, inst, hook, trialId, err);
        } finally {
          this.metrics.hookSeconds(
            { analyzer: inst.hosted.def.name, hook },
            (performance.now() - started) / 1000,
          );
        }
      }),
    );
  }

  private async release(state: SweepState): Promise<void> {
    await this.each(state, 'close', '', (h) => h.close?.());
    for (const inst of state.instances) {
      if (inst.errors > this.maxErrorFindings) {
        this.publish(state, inst.hosted, {
          kind: analyzerErrorKind,
          severity: 'warning',
          evidence: { errors: inst.errors },
          message: `analyzer '${inst.hosted.def.name}' failed ${inst.errors} times in this sweep (the first ${this.maxErrorFindings} are reported one by one)`,
          discriminator: 'summary',
        });
      }
      inst.controller.abort(new DynlabError(ErrorCode.Cancelled, 'the sweep ended'));
    }
    state.series.clear();
    state.trials = [];
    await this.flush(state);
  }

  private fail(
    state: SweepState,
    inst: Instance,
    hook: HookName,
    trialId: string,
    err: unknown,
  ): void {
    const name = inst.hosted.def.name;
    const e = toDynlabError(err);
    inst.errors++;
    inst.logger.error(`analyzer ${hook} failed`, {
      hook,
      trial: trialId || undefined,
      code: e.code,
      error: e.message,
    });
    this.metrics.analyzerError({ analyzer: name, sweep: state.sweepId, hook });
    if (inst.errors > this.maxErrorFindings) return;
    this.publish(state, inst.hosted, {
      kind: analyzerErrorKind,
      severity: 'warning',
      trialId,
      evidence: { errors: inst.errors },
      message: `analyzer '${name}' failed in ${hook}: ${e.message} (${e.code})`,
      discriminator: hook,
    });
  }

  /** The analyzer-facing emit: checks the input (a bad one throws into the calling hook) and publishes. */
  private emit(state: SweepState, inst: Instance, input: FindingInput): void {
    if (inst.controller.signal.aborted) {
      inst.logger.warn('finding emitted after the analyzer was released; dropped', {
        kind: input?.kind,
      });
      return;
    }
    const issues: Issue[] = [];
    if (typeof input?.kind !== 'string' || !kindPattern.test(input.kind))
      issues.push({
        path: 'kind',
        message: `expected a kebab-case kind, got ${JSON.stringify(input?.kind)}`,
      });
    if (input?.severity !== undefined && !severities.has(input.severity))
      issues.push({
        path: 'severity',
        message: `expected info, warning or alert, got ${JSON.stringify(input.severity)}`,
      });
    if (typeof input?.message !== 'string')
      issues.push({ path: 'message', message: 'expected a string' });
    if (issues.length > 0) throw new ValidationError(issues, { what: 'finding' });
    this.publish(state, inst.hosted, input);
  }

  private publish(state: SweepState, hosted: Hosted, input: FindingInput): void {
    const trialId = input.trialId ?? '';
    const evidence: Record<string, number> = {};
    for (const [k, v] of Object.entries(input.evidence ?? {}))
      if (typeof v === 'number' && Number.isFinite(v)) evidence[k] = v;
    const finding: Finding = {
      analyzer: hosted.def.name,
      analyzerVersion: hosted.def.version,
      sweepId: state.sweepId,
      trialId,
      kind: input.kind,
      severity: input.severity ?? 'info',
      evidence,
      message: input.message,
      relatedTrials: [...(input.relatedTrials ?? [])],
      findingId: findingId({
        analyzer: hosted.def.name,
        sweepId: state.sweepId,
        trialId,
        kind: input.kind,
        discriminator: input.discriminator,
      }),
      timeMs: this.now(),
    };
    this.metrics.findingEmitted({
      analyzer: finding.analyzer,
      sweep: state.sweepId,
      kind: finding.kind,
      severity: finding.severity,
    });
    const delivered = Promise.resolve()
      .then(() => this.onFinding(finding))
      .catch((err: unknown) =>
        this.logger.error('onFinding failed; finding lost', {
          analyzer: finding.analyzer,
          kind: finding.kind,
          findingId: finding.findingId,
          error: toDynlabError(err).message,
        }),
      )
      .finally(() => state.pending.delete(delivered));
    state.pending.add(delivered);
  }
}

/** Resolves or rejects as `p` does, or rejects with a TimeoutError after `ms` (0: never). */
function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  if (ms <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what())), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
