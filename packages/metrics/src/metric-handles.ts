/**
 * Typed handles over prom-client's metrics. A handle's label set is a TypeScript type, so a
 * service that forgets a label or adds one fails to compile, and prom-client never leaks out of
 * this package. Each handle remembers the label sets it has seen so that a finished sweep's series
 * can be dropped (`forget`) and memory stays bounded in a long-running service.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import { DynlabError, ErrorCode } from '@dynlab/core';
import type { LabelName } from './labels';

/** A label set: some of the allowed label names, each with a string value. */
export type Labels = Partial<Record<LabelName, string>>;

/** The empty label set of a metric without labels. */
export type NoLabels = Record<never, string>;

/** Arguments of `inc`/`set`/`observe`: the labels (omitted when the metric has none), then the value. */
export type LabelledArgs<L extends Labels> = keyof L extends never
  ? [value?: number]
  : [labels: L, value?: number];

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** What every handle shares: its name, its label names and the label sets it has written. */
export abstract class MetricHandle<L extends Labels> {
  private readonly seen = new Map<string, L>();

  protected constructor(
    /** The metric's name, from the metric-name file. */
    readonly name: string,
    /** The metric's label names, in order. */
    readonly labelNames: readonly (keyof L & string)[],
    protected readonly metric: AnyMetric,
  ) {}

  /** Splits `(labels, value)` or `(value)` and checks that the labels are exactly the metric's. */
  protected split(args: readonly unknown[], defaultValue: number): [L, number] {
    const hasLabels = this.labelNames.length > 0;
    const labels = (hasLabels ? args[0] : {}) as L;
    const raw = hasLabels ? args[1] : args[0];
    const value = raw === undefined ? defaultValue : (raw as number);
    if (hasLabels) this.checkLabels(labels);
    return [labels, value];
  }

  private checkLabels(labels: L): void {
    const keys = Object.keys(labels ?? {});
    const ok =
      keys.length === this.labelNames.length &&
      this.labelNames.every((n) => typeof (labels as Record<string, unknown>)[n] === 'string');
    if (!ok)
      throw new DynlabError(
        ErrorCode.Internal,
        `metric ${this.name}: labels {${keys.join(', ')}} must be exactly {${this.labelNames.join(', ')}} with string values`,
        {
          details: { metric: this.name },
        },
      );
    const key = this.labelNames.map((n) => (labels as Record<string, string>)[n]).join('\u0000');
    if (!this.seen.has(key)) this.seen.set(key, { ...labels });
  }

  /** Removes every series whose labels include all of `match` (e.g. `{ sweep }` of a finished sweep). */
  forget(match: Partial<L>): number {
    let removed = 0;
    for (const [key, labels] of this.seen) {
      if (!Object.entries(match).every(([k, v]) => (labels as Record<string, unknown>)[k] === v))
        continue;
      this.metric.remove(labels as Record<string, string>);
      this.seen.delete(key);
      removed++;
    }
    return removed;
  }
}

/** A counter: only goes up (by a finite, non-negative amount). */
export class CounterHandle<L extends Labels = NoLabels> extends MetricHandle<L> {
  constructor(
    name: string,
    labelNames: readonly (keyof L & string)[],
    private readonly counter: Counter<string>,
  ) {
    super(name, labelNames, counter);
  }

  /** Adds `value` (default 1); 0 creates the series at zero so that queries see it. */
  inc(...args: LabelledArgs<L>): void {
    const [labels, value] = this.split(args, 1);
    if (!(value >= 0) || !Number.isFinite(value))
      throw new DynlabError(
        ErrorCode.Internal,
        `metric ${this.name}: counter increment must be finite and >= 0, got ${value}`,
      );
    this.counter.inc(labels as Record<string, string>, value);
  }
}

/** A gauge: a value that is set, or moved up and down. */
export class GaugeHandle<L extends Labels = NoLabels> extends MetricHandle<L> {
  constructor(
    name: string,
    labelNames: readonly (keyof L & string)[],
    private readonly gauge: Gauge<string>,
  ) {
    super(name, labelNames, gauge);
  }

  /** Sets the value (default 0). */
  set(...args: LabelledArgs<L>): void {
    const [labels, value] = this.split(args, 0);
    this.gauge.set(labels as Record<string, string>, value);
  }

  /** Adds `value` (default 1). */
  inc(...args: LabelledArgs<L>): void {
    const [labels, value] = this.split(args, 1);
    this.gauge.inc(labels as Record<string, string>, value);
  }

  /** Subtracts `value` (default 1). */
  dec(...args: LabelledArgs<L>): void {
    const [labels, value] = this.split(args, 1);
    this.gauge.dec(labels as Record<string, string>, value);
  }
}

/** A histogram of observations (durations in seconds). */
export class HistogramHandle<L extends Labels = NoLabels> extends MetricHandle<L> {
  constructor(
    name: string,
    labelNames: readonly (keyof L & string)[],
    private readonly histogram: Histogram<string>,
  ) {
    super(name, labelNames, histogram);
  }

  /** Records one observation (finite; a NaN would poison the sum forever). */
  observe(...args: LabelledArgs<L>): void {
    const [labels, value] = this.split(args, 0);
    if (!Number.isFinite(value))
      throw new DynlabError(
        ErrorCode.Internal,
        `metric ${this.name}: observation must be finite, got ${value}`,
      );
    this.histogram.observe(labels as Record<string, string>, value);
  }

  /** Creates the label set's series with zero observations, so that queries see it before the first event. */
  zero(...args: keyof L extends never ? [] : [labels: L]): void {
    const [labels] = this.split(args, 0);
    this.histogram.zero(labels as Record<string, string>);
  }

  /** Starts a timer; calling the returned function observes the seconds elapsed and returns them. */
  startTimer(...args: keyof L extends never ? [] : [labels: L]): () => number {
    const start = process.hrtime.bigint();
    return () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      this.observe(...([...args, seconds] as unknown as LabelledArgs<L>));
      return seconds;
    };
  }
}
