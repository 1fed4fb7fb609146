/**
 * Builders shared by this package's tests: compiled trials of the features model, series from
 * per-row values, outcomes, and a host that collects its findings. Not exported from the package.
 */
import {
  compileTrial,
  type CompiledTrial,
  type Finding,
  type TelemetryColumns,
  type TrialInput,
  type TrialOutcome,
} from '@dynlab/spec';
import { AnalyzerHost } from './analyzer-host';
import { createMemoryMetrics, type MemoryMetrics } from './analyzer-metrics';
import type { AnyAnalyzerDefinition } from './define-analyzer';

/** A features-model trial: one entry per feature as [frequency, norm] (informative), probes on each unit vector. */
export function featureTrial(
  id: string,
  features: (
    | [number, number]
    | { frequency: number; norm: number; knockedOut?: boolean; informative?: boolean }
  )[],
  extra: Partial<TrialInput> = {},
): CompiledTrial {
  const fs = features.map((f) => (Array.isArray(f) ? { frequency: f[0], norm: f[1] } : f));
  return compileTrial({
    id,
    data: { features: { n: 100, features: fs } },
    model: { kind: 'relu', hidden: [4] },
    record: {
      probes: fs.map((_, j) => ({ name: `e${j}`, x: fs.map((__, k) => (k === j ? 1 : 0)) })),
    },
    ...extra,
  });
}

/** One recorded row. */
export interface Row {
  step: number;
  loss?: number;
  error?: number;
  gradShare?: number[];
  probes?: number[];
  deadUnits?: number[];
}

/** A series from rows (widths taken from the first row). */
export function seriesOf(rows: readonly Row[]): TelemetryColumns {
  const first = rows[0];
  return {
    steps: rows.map((r) => r.step),
    loss: rows.every((r) => r.loss !== undefined) ? rows.map((r) => r.loss!) : [],
    error: rows.every((r) => r.error !== undefined) ? rows.map((r) => r.error!) : [],
    features: first?.gradShare?.length ?? 0,
    gradShare: rows.flatMap((r) => r.gradShare ?? []),
    probes: first?.probes?.length ?? 0,
    probeOutputs: rows.flatMap((r) => r.probes ?? []),
    layers: 0,
    paramNorms: [],
    deadUnits: rows.flatMap((r) => r.deadUnits ?? []),
    trainPoints: 0,
    trainOutputs: [],
  };
}

/** `count` steps spaced evenly in log between 1 and `last`, rounded and deduplicated, with 0 first. */
export function logSteps(last: number, count: number): number[] {
  const s = new Set<number>([0]);
  for (let i = 0; i < count; i++) s.add(Math.round(Math.exp((Math.log(last) * i) / (count - 1))));
  return [...s].sort((a, b) => a - b);
}

/** An outcome with status ok. */
export function okOutcome(partial: Partial<TrialOutcome> = {}): TrialOutcome {
  return {
    status: 'ok',
    finalLoss: 0,
    finalError: 0,
    stepsDone: 0,
    backend: 'test',
    wallS: 0,
    ...partial,
  };
}

/** A host over `analyzers` that collects findings, with in-memory metrics and a fixed clock. */
export function collectingHost(
  analyzers: { definition: AnyAnalyzerDefinition; options?: unknown }[],
  extra: { setupTimeoutMs?: number; hookTimeoutMs?: number; maxErrorFindings?: number } = {},
): { host: AnalyzerHost; findings: Finding[]; metrics: MemoryMetrics } {
  const findings: Finding[] = [];
  const metrics = createMemoryMetrics();
  const host = new AnalyzerHost({
    analyzers,
    onFinding: (f) => void findings.push(f),
    metrics,
    now: () => 1234,
    ...extra,
  });
  return { host, findings, metrics };
}

/** Findings of one kind. */
export function ofKind(findings: readonly Finding[], kind: string): Finding[] {
  return findings.filter((f) => f.kind === kind);
}

/**
 * Gradient flow of the single mode, df/dt = 2 p r f * (-dl/df), integrated by RK4 in float64:
 * an independent reference for the closed forms (logistic: -dl/df = 1 / (1 + e^f); hinge: 1 below the margin).
 */
export function modeFlow(
  loss: 'logistic' | 'hinge',
  p: number,
  r: number,
  f0: number,
  times: readonly number[],
  margin = 1,
): number[] {
  const rate = (f: number) =>
    2 * p * r * f * (loss === 'logistic' ? 1 / (1 + Math.exp(f)) : f < margin ? 1 : 0);
  const out: number[] = [];
  let f = f0,
    t = 0;
  for (const target of times) {
    while (t < target) {
      const h = Math.min(1e-3, target - t);
      const k1 = rate(f),
        k2 = rate(f + (h / 2) * k1),
        k3 = rate(f + (h / 2) * k2),
        k4 = rate(f + h * k3);
      f =
        loss === 'hinge'
          ? Math.min(margin, f + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4))
          : f + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
      t += h;
    }
    out.push(f);
  }
  return out;
}

/** A series whose probe k records `responses[k](t)` at each step (t = lr * step), with optional loss and error columns. */
export function responseSeries(
  steps: readonly number[],
  lr: number,
  responses: ((t: number) => number)[],
  extra: { loss?: (t: number) => number; error?: (t: number) => number } = {},
): TelemetryColumns {
  return seriesOf(
    steps.map((s) => ({
      step: s,
      probes: responses.map((f) => f(lr * s)),
      ...(extra.loss ? { loss: extra.loss(lr * s) } : {}),
      ...(extra.error ? { error: extra.error(lr * s) } : {}),
    })),
  );
}

/** The hinge-loss mode in closed form: f0 * exp(2 p r t), capped at the margin. */
export function hingeMode(p: number, r: number, f0: number, margin = 1): (t: number) => number {
  return (t) => Math.min(margin, f0 * Math.exp(2 * p * r * t));
}
