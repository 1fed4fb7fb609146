/**
 * The JetStream topology, created idempotently at start-up by every service (creating what is
 * missing, updating what differs), so no deployment step has to run first.
 * - DYNLAB_JOBS: work queue; a job is removed when acked; dedup by job id; file storage so
 *   queued jobs survive a broker restart.
 * - DYNLAB_RESULTS / DYNLAB_FINDINGS / DYNLAB_TELEMETRY: limits-retention logs, replayable from
 *   the start (telemetry bounded by age and bytes, one subject per job).
 * - DYNLAB_DEADLETTER: our own dead-letter records plus JetStream's max-deliveries advisories
 *   for the job stream.
 * - KV bucket `dynlab_sweeps` for sweep state (compare-and-set updates).
 */
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type StreamConfig,
  type ConsumerConfig,
} from 'nats';
import { DynlabError, ErrorCode } from '@dynlab/core';
import type { Bus } from './bus';
import { buckets, consumers, streams, subjects } from './subjects';

export interface TopologyOptions {
  /** Seconds a trainer may hold a job without a heartbeat before it is redelivered. @default 30 */
  jobAckWaitS?: number;
  /** Deliveries of a job before it is dead-lettered. @default 5 */
  jobMaxDeliver?: number;
  /** @default 7 days */
  telemetryMaxAgeS?: number;
  /** Bytes reserved for telemetry on the server's file store. @default 1 GiB */
  telemetryMaxBytes?: number;
  /** @default 30 days */
  resultsMaxAgeS?: number;
  /** Deduplication window for job and result ids. @default 600 */
  dedupWindowS?: number;
}

export interface CompiledTopology {
  jobAckWaitS: number;
  jobMaxDeliver: number;
  telemetryMaxAgeS: number;
  telemetryMaxBytes: number;
  resultsMaxAgeS: number;
  dedupWindowS: number;
}

export function compileTopology(o: TopologyOptions = {}): CompiledTopology {
  return {
    jobAckWaitS: o.jobAckWaitS ?? 30,
    jobMaxDeliver: o.jobMaxDeliver ?? 5,
    telemetryMaxAgeS: o.telemetryMaxAgeS ?? 7 * 86400,
    telemetryMaxBytes: o.telemetryMaxBytes ?? 1024 ** 3,
    resultsMaxAgeS: o.resultsMaxAgeS ?? 30 * 86400,
    dedupWindowS: o.dedupWindowS ?? 600,
  };
}

/** Stream configurations, by stream name. */
export function streamConfigs(t: CompiledTopology): Partial<StreamConfig>[] {
  return [
    {
      name: streams.jobs,
      subjects: [subjects.jobsAll],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(t.dedupWindowS * 1000),
    },
    {
      name: streams.results,
      subjects: [subjects.resultsAll],
      storage: StorageType.File,
      max_age: nanos(t.resultsMaxAgeS * 1000),
      duplicate_window: nanos(t.dedupWindowS * 1000),
    },
    {
      name: streams.findings,
      subjects: [subjects.findingsAll],
      storage: StorageType.File,
      max_age: nanos(t.resultsMaxAgeS * 1000),
      duplicate_window: nanos(t.dedupWindowS * 1000),
    },
    {
      name: streams.telemetry,
      subjects: [subjects.telemetryAll],
      storage: StorageType.File,
      max_age: nanos(t.telemetryMaxAgeS * 1000),
      max_bytes: t.telemetryMaxBytes,
      duplicate_window: nanos(Math.min(t.dedupWindowS, 120) * 1000),
    },
    {
      name: streams.deadLetter,
      subjects: [subjects.deadLetterAll, subjects.maxDeliveriesAdvisory(streams.jobs)],
      storage: StorageType.File,
      max_age: nanos(t.resultsMaxAgeS * 1000),
    },
  ];
}

/** The trainers' shared durable consumer on the job queue. */
export function jobConsumerConfig(t: CompiledTopology): Partial<ConsumerConfig> {
  return {
    durable_name: consumers.trainers,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(t.jobAckWaitS * 1000),
    max_deliver: t.jobMaxDeliver,
    max_ack_pending: 10_000,
    deliver_policy: DeliverPolicy.All,
  };
}

/** A durable consumer reading a whole stream (optionally one subject filter) from the start. */
export function logConsumerConfig(
  durable: string,
  filter?: string,
  ackWaitS = 15,
): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitS * 1000),
    deliver_policy: DeliverPolicy.All,
    max_deliver: 10,
    max_ack_pending: 20_000,
    ...(filter ? { filter_subject: filter } : {}),
  };
}

/** Creates or updates every stream, the job consumer and the KV bucket. Safe to run concurrently from many services. */
export async function ensureTopology(
  bus: Bus,
  opts: TopologyOptions = {},
): Promise<CompiledTopology> {
  const t = compileTopology(opts);
  for (const cfg of streamConfigs(t)) await ensureStream(bus, cfg);
  await ensureConsumer(bus, streams.jobs, jobConsumerConfig(t));
  await bus.js.views.kv(buckets.sweeps, { history: 1, storage: StorageType.File });
  return t;
}

async function ensureStream(bus: Bus, cfg: Partial<StreamConfig>): Promise<void> {
  const name = cfg.name!;
  try {
    await bus.jsm.streams.info(name);
    const { name: _n, retention: _r, storage: _s, ...mutable } = cfg;
    await bus.jsm.streams.update(name, mutable);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await bus.jsm.streams.add(cfg);
    } catch (err2) {
      // Another service created it between our info and add.
      if (/already in use|exists/i.test((err2 as Error).message)) return;
      const hint = /insufficient storage/i.test((err2 as Error).message)
        ? ` (the server's JetStream max_file_store is smaller than the stream's max_bytes ${cfg.max_bytes ?? ''}: lower the telemetry size limit or raise max_file_store)`
        : '';
      throw new DynlabError(
        ErrorCode.Unavailable,
        `cannot create stream ${name}: ${(err2 as Error).message}${hint}`,
        { cause: err2 },
      );
    }
  }
}

/** Creates the durable consumer, or updates it when it exists. */
export async function ensureConsumer(
  bus: Bus,
  stream: string,
  cfg: Partial<ConsumerConfig>,
): Promise<void> {
  try {
    await bus.jsm.consumers.info(stream, cfg.durable_name!);
    const { durable_name: _d, deliver_policy: _p, filter_subject: _f, ...mutable } = cfg;
    await bus.jsm.consumers.update(stream, cfg.durable_name!, mutable);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await bus.jsm.consumers.add(stream, cfg);
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number } };
  return (
    e?.code === '404' ||
    e?.api_error?.err_code === 10059 ||
    e?.api_error?.err_code === 10014 ||
    /not found/i.test(String((err as Error)?.message))
  );
}
