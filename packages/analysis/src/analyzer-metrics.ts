/**
 * The metrics handle an analyzer host reports through. It is a small interface, not prom-client,
 * because only the metrics package may import prom-client: the analyzer service passes an
 * implementation backed by its registry, tests pass `createMemoryMetrics()`. Every label is bounded
 * (analyzer, kind, severity, sweep, hook): never a trial, a feature or a step.
 */
import type { Severity } from '@dynlab/spec';

/** The hooks an analyzer may define, plus its setup: the values of the `hook` label. */
export type HookName = 'setup' | 'onChunk' | 'onTrialEnd' | 'onSweepEnd' | 'close';

/** What the host counts and times for each analyzer. */
export interface AnalyzerMetrics {
  /** Counts one finding emitted by `analyzer` in `sweep`. */
  findingEmitted(labels: {
    analyzer: string;
    sweep: string;
    kind: string;
    severity: Severity;
  }): void;
  /** Counts one error (a hook that threw or timed out). */
  analyzerError(labels: { analyzer: string; sweep: string; hook: HookName }): void;
  /** Observes how long one hook call took, in seconds. */
  hookSeconds(labels: { analyzer: string; hook: HookName }, seconds: number): void;
}

/** A metrics handle that records nothing (embedded use, tools). */
export const noopMetrics: AnalyzerMetrics = {
  findingEmitted: () => undefined,
  analyzerError: () => undefined,
  hookSeconds: () => undefined,
};

/** In-memory metrics: counters keyed by their labels, for tests and for `dynlab simulate`. */
export interface MemoryMetrics extends AnalyzerMetrics {
  /** Findings by `analyzer|sweep|kind|severity`. */
  readonly findings: Map<string, number>;
  /** Errors by `analyzer|sweep|hook`. */
  readonly errors: Map<string, number>;
  /** Hook calls and total seconds by `analyzer|hook`. */
  readonly hooks: Map<string, { calls: number; seconds: number }>;
}

/** Creates an in-memory metrics handle (see `MemoryMetrics` for the keys). */
export function createMemoryMetrics(): MemoryMetrics {
  const findings = new Map<string, number>();
  const errors = new Map<string, number>();
  const hooks = new Map<string, { calls: number; seconds: number }>();
  const bump = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  return {
    findings,
    errors,
    hooks,
    findingEmitted: (l) => bump(findings, `${l.analyzer}|${l.sweep}|${l.kind}|${l.severity}`),
    analyzerError: (l) => bump(errors, `${l.analyzer}|${l.sweep}|${l.hook}`),
    hookSeconds: (l, s) => {
      const key = `${l.analyzer}|${l.hook}`;
      const h = hooks.get(key) ?? { calls: 0, seconds: 0 };
      hooks.set(key, { calls: h.calls + 1, seconds: h.seconds + s });
    },
  };
}
