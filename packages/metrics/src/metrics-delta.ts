/**
 * Metrics from worker threads. A piscina worker has no `/metrics` endpoint and must not own a
 * registry (a scrape would miss it), so it records what it counted into a {@link MetricsDelta}: a
 * plain, structured-clone-friendly object returned with the task's result. The main thread
 * applies it to its registry with {@link applyMetricsDelta}. Counter increments are summed per
 * label set in the worker, so a delta stays small however many steps a job ran; histogram
 * observations travel as values.
 */
import { ValidationError, type Issue } from '@dynlab/core';
import type { Labels, LabelledArgs } from './metric-handles';
import type { MetricsRegistry } from './metrics-registry';

/** What a worker counted during one task, to be applied to the main thread's registry. */
export interface MetricsDelta {
  /** Format version. */
  v: 1;
  /** Counter increments, one entry per metric and label set. */
  counters: { name: string; labels: Record<string, string>; value: number }[];
  /** Histogram observations, one entry per metric and label set. */
  histograms: { name: string; labels: Record<string, string>; values: number[] }[];
}

/** Builds a {@link MetricsDelta} inside a worker; `take()` hands it over and starts a new one. */
export class MetricsDeltaRecorder {
  private counters = new Map<string, MetricsDelta['counters'][number]>();
  private histograms = new Map<string, MetricsDelta['histograms'][number]>();

  /** Adds `value` (default 1) to the counter `name` with these labels. */
  inc(name: string, labels: Labels, value = 1): void {
    const key = entryKey(name, labels);
    const entry = this.counters.get(key);
    if (entry) entry.value += value;
    else this.counters.set(key, { name, labels: { ...labels } as Record<string, string>, value });
  }

  /** Records one observation of the histogram `name` with these labels. */
  observe(name: string, labels: Labels, value: number): void {
    const key = entryKey(name, labels);
    const entry = this.histograms.get(key);
    if (entry) entry.values.push(value);
    else
      this.histograms.set(key, {
        name,
        labels: { ...labels } as Record<string, string>,
        values: [value],
      });
  }

  /** Returns what was recorded since the last `take()` and clears it. */
  take(): MetricsDelta {
    const delta: MetricsDelta = {
      v: 1,
      counters: [...this.counters.values()],
      histograms: [...this.histograms.values()],
    };
    this.counters = new Map();
    this.histograms = new Map();
    return delta;
  }
}

function entryKey(name: string, labels: Labels): string {
  return (
    name + '\u0000' + JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))
  );
}

/**
 * Applies a worker's delta to the main registry, all or nothing: every entry is checked first
 * (known counter or histogram, its exact labels, finite non-negative counter values, finite
 * observations) and a bad delta throws a ValidationError listing every problem with its path,
 * leaving the registry untouched. Returns the number of entries applied.
 */
export function applyMetricsDelta(registry: MetricsRegistry, delta: MetricsDelta): number {
  const issues: Issue[] = [];
  if (delta?.v !== 1 || !Array.isArray(delta.counters) || !Array.isArray(delta.histograms))
    throw new ValidationError(
      [{ path: 'v', message: 'expected a version-1 delta with counters[] and histograms[]' }],
      { what: 'metrics delta' },
    );
  const checkLabels = (path: string, names: readonly string[], labels: Record<string, string>) => {
    const keys = Object.keys(labels ?? {});
    if (keys.length !== names.length || !names.every((n) => typeof labels[n] === 'string'))
      issues.push({
        path: `${path}.labels`,
        message: `expected exactly {${names.join(', ')}}, got {${keys.join(', ')}}`,
      });
  };
  delta.counters.forEach((c, i) => {
    const path = `counters[${i}]`;
    const target = registry.deltaTarget(c.name);
    if (target?.type !== 'counter')
      return issues.push({
        path: `${path}.name`,
        message: `'${c.name}' is not a counter of this registry`,
      });
    checkLabels(path, target.handle.labelNames, c.labels);
    if (!(Number.isFinite(c.value) && c.value >= 0))
      issues.push({
        path: `${path}.value`,
        message: `expected a finite number >= 0, got ${c.value}`,
      });
  });
  delta.histograms.forEach((h, i) => {
    const path = `histograms[${i}]`;
    const target = registry.deltaTarget(h.name);
    if (target?.type !== 'histogram')
      return issues.push({
        path: `${path}.name`,
        message: `'${h.name}' is not a histogram of this registry`,
      });
    checkLabels(path, target.handle.labelNames, h.labels);
    if (!Array.isArray(h.values) || !h.values.every(Number.isFinite))
      issues.push({ path: `${path}.values`, message: 'expected finite numbers' });
  });
  if (issues.length > 0) throw new ValidationError(issues, { what: 'metrics delta' });
  for (const c of delta.counters) {
    const target = registry.deltaTarget(c.name);
    if (target?.type === 'counter')
      target.handle.inc(...args(target.handle.labelNames, c.labels, c.value));
  }
  for (const h of delta.histograms) {
    const target = registry.deltaTarget(h.name);
    if (target?.type === 'histogram')
      for (const v of h.values)
        target.handle.observe(...args(target.handle.labelNames, h.labels, v));
  }
  return delta.counters.length + delta.histograms.length;
}

/** The `(labels, value)` or `(value)` arguments a handle with these label names takes. */
function args(
  labelNames: readonly string[],
  labels: Record<string, string>,
  value: number,
): LabelledArgs<Labels> {
  return (labelNames.length > 0 ? [labels, value] : [value]) as LabelledArgs<Labels>;
}
