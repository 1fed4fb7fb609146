/**
 * The analyzer service's metrics: what it consumes (telemetry chunks, trial results), how far
 * behind its durable consumers are (lag, set from JetStream's consumer info), what it could not
 * decode, and the plugins' own metrics ({@link AnalyzerPluginMetrics}), which it hands to the
 * plugin host.
 */
import { AnalyzerPluginMetrics } from './analyzer-plugin-metrics';
import type { CounterHandle, GaugeHandle } from './metric-handles';
import { AnalyzerMetricNames as N } from './metric-names';
import type { MetricsRegistry } from './metrics-registry';

/** Kinds of message the analyzer decodes: a telemetry chunk, a trial result. */
export type AnalyzerMessageKind = 'telemetry' | 'result';

/** Typed metric handles of the analyzer service; create with {@link createAnalyzerMetrics}. */
export class AnalyzerServiceMetrics {
  /** Telemetry chunks consumed, by sweep. */
  readonly telemetryChunks: CounterHandle<{ sweep: string }>;
  /** Trial results consumed, by sweep. */
  readonly results: CounterHandle<{ sweep: string }>;
  /** Messages not yet delivered to a durable consumer (`num_pending`), by analyzer group. */
  readonly consumerLag: GaugeHandle<{ analyzer: string }>;
  /** Messages that could not be decoded, by kind. */
  readonly malformedMessages: CounterHandle<{ kind: AnalyzerMessageKind }>;
  /** The handle to give the plugin host (findings, errors, hook seconds). */
  readonly plugins: AnalyzerPluginMetrics;

  constructor(registry: MetricsRegistry) {
    this.telemetryChunks = registry.counter({
      name: N.telemetryChunks,
      help: 'Telemetry chunks consumed, by sweep.',
      labelNames: ['sweep'],
    });
    this.results = registry.counter({
      name: N.results,
      help: 'Trial results consumed, by sweep.',
      labelNames: ['sweep'],
    });
    this.consumerLag = registry.gauge({
      name: N.consumerLag,
      help: "Messages not yet delivered to the analyzer's durable consumer (num_pending).",
      labelNames: ['analyzer'],
    });
    this.malformedMessages = registry.counter({
      name: N.malformedMessages,
      help: 'Messages that could not be decoded, by kind; each was dead-lettered.',
      labelNames: ['kind'],
    });
    this.plugins = new AnalyzerPluginMetrics(registry);
    for (const kind of ['telemetry', 'result'] as const) this.malformedMessages.inc({ kind }, 0);
  }

  /** Creates the sweep's series at zero (call when the first message of a sweep arrives). */
  initSweep(sweep: string): void {
    this.telemetryChunks.inc({ sweep }, 0);
    this.results.inc({ sweep }, 0);
  }
}

/** Creates the analyzer service's metrics in `registry`. */
export function createAnalyzerMetrics(registry: MetricsRegistry): AnalyzerServiceMetrics {
  return new AnalyzerServiceMetrics(registry);
}
