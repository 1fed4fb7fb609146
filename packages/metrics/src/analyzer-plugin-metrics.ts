/**
 * The metrics handle the analyzer plugin host reports through. @dynlab/analysis codes against its
 * small `AnalyzerMetrics` interface (`findingEmitted`, `analyzerError`, `hookSeconds`) so that
 * analyzers stay pure and testable without Prometheus; this class is that interface's Prometheus
 * implementation and matches it structurally, so neither package imports the other. Errors are
 * counted by analyzer and hook, not by sweep: their series exist at zero from the analyzer's
 * registration, so an error panel reads 0 rather than nothing; the sweep of an error is in the
 * finding the host emits about it.
 */
import { hookBuckets } from './duration-buckets';
import { analyzerHooks, type AnalyzerHookLabel, type SeverityLabel } from './labels';
import type { CounterHandle, HistogramHandle } from './metric-handles';
import { AnalyzerMetricNames as N } from './metric-names';
import type { MetricsRegistry } from './metrics-registry';

/** Prometheus implementation of the analysis package's `AnalyzerMetrics`; see the module header. */
export class AnalyzerPluginMetrics {
  /** Findings emitted, by analyzer, kind, severity and sweep. */
  readonly findings: CounterHandle<{
    analyzer: string;
    kind: string;
    severity: SeverityLabel;
    sweep: string;
  }>;
  /** Analyzer errors (a hook that threw or timed out), by analyzer and hook. */
  readonly errors: CounterHandle<{ analyzer: string; hook: AnalyzerHookLabel }>;
  /** Time spent in each analyzer hook. */
  readonly processing: HistogramHandle<{ analyzer: string; hook: AnalyzerHookLabel }>;

  constructor(registry: MetricsRegistry) {
    this.findings = registry.counter({
      name: N.findings,
      help: 'Findings emitted, by analyzer, kind, severity and sweep.',
      labelNames: ['analyzer', 'kind', 'severity', 'sweep'],
    });
    this.errors = registry.counter({
      name: N.errors,
      help: 'Analyzer errors (a hook that threw or timed out), by analyzer and hook.',
      labelNames: ['analyzer', 'hook'],
    });
    this.processing = registry.histogram({
      name: N.processingDuration,
      help: 'Seconds spent in one analyzer hook call, by analyzer and hook.',
      labelNames: ['analyzer', 'hook'],
      buckets: hookBuckets,
    });
  }

  /** Creates the analyzer's error series at zero (call once per analyzer the service loads). */
  register(analyzer: string): void {
    for (const hook of analyzerHooks) this.errors.inc({ analyzer, hook }, 0);
  }

  /** Counts one finding emitted by `analyzer` in `sweep`. */
  findingEmitted(labels: {
    analyzer: string;
    sweep: string;
    kind: string;
    severity: SeverityLabel;
  }): void {
    this.findings.inc({
      analyzer: labels.analyzer,
      kind: labels.kind,
      severity: labels.severity,
      sweep: labels.sweep,
    });
  }

  /** Counts one analyzer error; `sweep` is accepted for the interface and not a label (see the module header). */
  analyzerError(labels: { analyzer: string; sweep: string; hook: AnalyzerHookLabel }): void {
    this.errors.inc({ analyzer: labels.analyzer, hook: labels.hook });
  }

  /** Observes the seconds one hook call took. */
  hookSeconds(labels: { analyzer: string; hook: AnalyzerHookLabel }, seconds: number): void {
    this.processing.observe({ analyzer: labels.analyzer, hook: labels.hook }, seconds);
  }
}
