/**
 * One registry per service process: it owns the prom-client registry, stamps every series with
 * the service and instance (default labels, so process metrics say whose process they are),
 * collects Node's process metrics, exports `dynlab_build_info` and `dynlab_service_ready`, and is
 * the only way to create a metric. Creating through it is what enforces the metric-name file and
 * the label vocabulary, and what lets a worker thread's delta find the metric it names.
 */
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DynlabError, ErrorCode } from '@dynlab/core';
import { checkLabelNames } from './labels';
import {
  CounterHandle,
  GaugeHandle,
  HistogramHandle,
  type Labels,
  type MetricHandle,
  type NoLabels,
} from './metric-handles';
import { SharedMetricNames, metricTypes, type MetricType } from './metric-names';

/** Options of {@link MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** The service name (`coordinator`, `trainer`, `analyzer`, `cli`), a label on every series. */
  service: string;
  /** This process's instance id (the one in its heartbeats), a label on every series. @default `${hostname}-${pid}` */
  instance?: string;
  /** dynlab's version, on `dynlab_build_info`. @default '0.0.0' */
  version?: string;
  /** Collect Node's process metrics (CPU, memory, event loop lag, GC). @default true */
  defaultMetrics?: boolean;
}

/** How a metric is declared: its name (from the metric-name file), help text and label names. */
export interface MetricDefinition<L extends Labels> {
  name: string;
  help: string;
  labelNames: readonly (keyof L & string)[];
}

/** A histogram's declaration: a metric definition plus its bucket bounds (seconds). */
export interface HistogramDefinition<L extends Labels> extends MetricDefinition<L> {
  buckets: readonly number[];
}

/** A metric a worker-thread delta may write to. */
export type DeltaTarget =
  | { type: 'counter'; handle: CounterHandle<Labels> }
  | { type: 'histogram'; handle: HistogramHandle<Labels> };

/** A service's metrics registry; see the module header. */
export class MetricsRegistry {
  /** The service name on every series. */
  readonly service: string;
  /** The instance id on every series. */
  readonly instance: string;
  private readonly registry = new Registry();
  private readonly handles = new Map<string, { type: MetricType; handle: MetricHandle<Labels> }>();
  private readiness: () => boolean | Promise<boolean> = () => true;

  constructor(opts: MetricsRegistryOptions) {
    this.service = opts.service;
    this.instance = opts.instance ?? `${hostname()}-${process.pid}`;
    this.registry.setDefaultLabels({ service: this.service, instance: this.instance });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const info = this.gauge<{ version: string; node_version: string }>({
      name: SharedMetricNames.buildInfo,
      help: 'Always 1; the labels say which dynlab version and Node runtime this process runs.',
      labelNames: ['version', 'node_version'],
    });
    info.set({ version: opts.version ?? '0.0.0', node_version: process.versions.node }, 1);
    const isReady = () => this.isReady();
    this.define('gauge', SharedMetricNames.serviceReady, [], () => {
      return new Gauge({
        name: SharedMetricNames.serviceReady,
        help: '1 while the service is ready (its readiness check passes, e.g. NATS connected), else 0.',
        registers: [this.registry],
        async collect() {
          this.set((await isReady()) ? 1 : 0);
        },
      });
    });
  }

  /** The content type of {@link metrics}'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every series in the Prometheus text format, as a scrape sees it. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Sets the readiness check behind `dynlab_service_ready` and the `/readyz` endpoint. @default always ready */
  setReadiness(check: () => boolean | Promise<boolean>): void {
    this.readiness = check;
  }

  /** Runs the readiness check; a check that throws or rejects means not ready. */
  isReady(): Promise<boolean> {
    return safeCall(this.readiness);
  }

  /** Creates a counter; the name must be a counter of the metric-name file and the labels allowed. */
  counter<L extends Labels = NoLabels>(def: MetricDefinition<L>): CounterHandle<L> {
    return this.define('counter', def.name, def.labelNames, () => {
      const m = new Counter({
        name: def.name,
        help: def.help,
        labelNames: def.labelNames,
        registers: [this.registry],
      });
      return new CounterHandle<L>(def.name, def.labelNames, m);
    });
  }

  /** Creates a gauge; the name must be a gauge of the metric-name file and the labels allowed. */
  gauge<L extends Labels = NoLabels>(def: MetricDefinition<L>): GaugeHandle<L> {
    return this.define('gauge', def.name, def.labelNames, () => {
      const m = new Gauge({
        name: def.name,
        help: def.help,
        labelNames: def.labelNames,
        registers: [this.registry],
      });
      return new GaugeHandle<L>(def.name, def.labelNames, m);
    });
  }

  /** Creates a histogram; the name must be a histogram of the metric-name file and the labels allowed. */
  histogram<L extends Labels = NoLabels>(def: HistogramDefinition<L>): HistogramHandle<L> {
    return this.define('histogram', def.name, def.labelNames, () => {
      const m = new Histogram({
        name: def.name,
        help: def.help,
        labelNames: def.labelNames,
        buckets: [...def.buckets],
        registers: [this.registry],
      });
      return new HistogramHandle<L>(def.name, def.labelNames, m);
    });
  }

  /** The counter or histogram called `name`, for applying a worker's delta; undefined if none. */
  deltaTarget(name: string): DeltaTarget | undefined {
    const entry = this.handles.get(name);
    if (entry?.type === 'counter')
      return { type: 'counter', handle: entry.handle as CounterHandle<Labels> };
    if (entry?.type === 'histogram')
      return { type: 'histogram', handle: entry.handle as HistogramHandle<Labels> };
    return undefined;
  }

  /** Drops every series labelled with this sweep, in every metric (call some time after a sweep ends). */
  forgetSweep(sweep: string): number {
    let removed = 0;
    for (const { handle } of this.handles.values())
      if (handle.labelNames.includes('sweep')) removed += handle.forget({ sweep });
    return removed;
  }

  private define<H>(
    type: MetricType,
    name: string,
    labelNames: readonly string[],
    create: () => H,
  ): H {
    const declared = metricTypes[name];
    if (declared === undefined)
      throw new DynlabError(ErrorCode.Config, `metric ${name} is not in the metric-name file`, {
        details: { metric: name },
      });
    if (declared !== type)
      throw new DynlabError(
        ErrorCode.Config,
        `metric ${name} is a ${declared} in the metric-name file, not a ${type}`,
        { details: { metric: name } },
      );
    if (this.handles.has(name))
      throw new DynlabError(
        ErrorCode.Conflict,
        `metric ${name} is already registered in this registry`,
        { details: { metric: name } },
      );
    checkLabelNames(name, labelNames);
    const handle = create();
    if (
      handle instanceof CounterHandle ||
      handle instanceof GaugeHandle ||
      handle instanceof HistogramHandle
    )
      this.handles.set(name, { type, handle: handle as MetricHandle<Labels> });
    return handle;
  }
}

async function safeCall(check: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return (await check()) === true;
  } catch {
    return false;
  }
}
