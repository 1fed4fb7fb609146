/**
 * The metrics handle that analyzer plugins see. @dynlab/analysis codes against a small
 * `AnalyzerMetrics` interface (finding counts, errors, hook seconds) so that analyzers stay pure
 * and testable without Prometheus; this class is that interface's Prometheus implementation, and
 * it matches it structurally, so neither package imports the other.
 */
import { hookBuckets } from './duration-buckets';
import type { AnalyzerHookLabel, SeverityLabel } from './labels';
import type { CounterHandle, HistogramHandle } from './metric-handles';
import { AnalyzerMetricNames as N } from './metric-names';
import type { MetricsRegistry } from './metrics-registry';

/** Prometheus implementation of the analysis package's `AnalyzerMetrics`; see the module header. */
export class AnalyzerPluginMetrics {
  /** Findings emitted, by analyzer, kind, severity and sweep. */
  readonly findings: CounterHandle<{ analyzer: string; kind: string; severity: SeverityLabel; sweep: string }>;
  /** Analyzer errors (a hook that threw or timed out), by analyzer. */
  readonly errors: CounterHandle<{ analyzer: string }>;
  /** Time spent in each analyzer hook. */
  readonly processing: HistogramHandle<{ analyzer: string; hook: AnalyzerHookLabel }>;

  constructor(registry: MetricsRegistry) {
    this.findings = registry.counter({ name: N.findings, help: 'Findings emitted, by analyzer, kind, severity and sweep.', labelNames: ['analyzer', 'kind', 'severity', 'sweep'] });
    this.errors = registry.counter({ name: N.errors, help: 'Analyzer errors (a hook that threw or timed out), by analyzer.', labelNames: ['analyzer'] });
    this.processing = registry.histogram({ name: N.processingDuration, help: 'Seconds spent in an analyzer hook, by analyzer and hook.', labelNames: ['analyzer', 'hook'], buckets: hookBuckets });
  }

  /** Creates the analyzer's error series at zero, so that its error panel reads 0 rather than nothing. */
  register(analyzer: string): void {
    this.errors.inc({ analyzer }, 0);
  }

  /** Counts one finding. */
  countFinding(analyzer: string, kind: string, severity: SeverityLabel, sweep: string): void {
    this.findings.inc({ analyzer, kind, severity, sweep });
  }

  /** Counts one analyzer error. */
  countError(analyzer: string): void {
    this.errors.inc({ analyzer });
  }

  /** Records the seconds one hook call took. */
  observeSeconds(analyzer: string, hook: AnalyzerHookLabel, seconds: number): void {
    this.processing.observe({ analyzer, hook }, seconds);
  }
}
