/**
 * A finding as plain data, mirroring the `dynlab.v1.Finding` message: what analyzers emit and
 * what the coordinator, the CLI and the report read.
 */
export type Severity = 'info' | 'warning' | 'alert';

export interface Finding {
  analyzer: string;
  analyzerVersion: string;
  sweepId: string;
  /** Empty for a per-sweep finding. */
  trialId: string;
  /** Stable kebab-case kind, e.g. `starved-feature`, `failed-training`, `learning-time`. */
  kind: string;
  severity: Severity;
  /** Numeric evidence, e.g. `{ feature: 1, share: 0.02, expectedShare: 0.2 }`. */
  evidence: Record<string, number>;
  message: string;
  /** Other trials the finding is about (a counterfactual pair, a regression's points). */
  relatedTrials: string[];
  /** Deterministic id (analyzer, sweep, trial, kind, discriminator) so replays deduplicate. */
  findingId: string;
  timeMs: number;
}
