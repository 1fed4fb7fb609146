/**
 * The client side of the sweep protocol, shared by the `dynlab` CLI and the end-to-end tests:
 * typed request/reply to the coordinators, and read-back of a sweep's results, telemetry and
 * findings from their streams (each read is an ephemeral ordered consumer over one sweep's
 * subjects, so it works on any past sweep that the streams still hold).
 */
import {
  Bus,
  TypedKv,
  buckets,
  readStream,
  streams,
  subjects,
  sweepKeys,
  type BusOptions,
} from '@dynlab/bus';
import { toPlain, v1 } from '@dynlab/proto';
import {
  compileSweep,
  jobResultTrials,
  sweepFromProto,
  sweepParams,
  sweepToProto,
  trialIndex,
  type CompiledSweep,
  type Finding,
  type Severity,
  type SweepLimits,
  defaultLimits,
  noLimits,
} from '@dynlab/spec';
import { NotFoundError } from '@dynlab/core';

export type SweepStatus = v1.SweepStatus;

/** Plain finding from its message. */
export function findingFromMessage(f: v1.Finding): Finding {
  const sev = (v1.Severity[f.severity] ?? 'SEVERITY_INFO')
    .replace('SEVERITY_', '')
    .toLowerCase() as Severity;
  return {
    analyzer: f.analyzer,
    analyzerVersion: f.analyzerVersion,
    sweepId: f.sweepId,
    trialId: f.trialId,
    kind: f.kind,
    severity: sev,
    evidence: { ...f.evidence },
    message: f.message,
    relatedTrials: [...f.relatedTrials],
    findingId: f.findingId,
    timeMs: Number(f.timeMs),
  };
}

/**
 * Limits of the client's own check: loose, since the coordinator enforces the configured ones,
 * but finite, so that a typo like `seeds: 300000000` is refused here instead of running the
 * calling process out of memory while the sweep is compiled.
 */
export const clientLimits: SweepLimits = {
  ...defaultLimits,
  maxTrials: 10_000_000,
  maxPopulation: Infinity,
  maxSteps: Infinity,
  maxJobBytes: Infinity,
};

export class DynlabClient {
  private constructor(readonly bus: Bus) {}

  static async connect(opts: BusOptions): Promise<DynlabClient> {
    return new DynlabClient(await Bus.connect({ name: 'dynlab-cli', ...opts }));
  }

  static over(bus: Bus): DynlabClient {
    return new DynlabClient(bus);
  }

  /**
   * Validates locally (early, every problem named) and submits; the coordinator validates again,
   * against its own configured limits. The local check is loose (see `clientLimits`).
   */
  async submit(
    spec: unknown,
    opts: { sweepId?: string; limits?: SweepLimits; timeoutMs?: number } = {},
  ): Promise<{ status: SweepStatus; sweep: CompiledSweep }> {
    const sweep = compileSweep(spec, opts.limits ?? clientLimits);
    const rep = await this.bus.request(
      subjects.sweepSubmit,
      v1.SubmitSweepRequest,
      { spec: sweepToProto(sweep), sweepId: opts.sweepId ?? '' },
      v1.SubmitSweepReply,
      opts.timeoutMs ?? 120_000,
    );
    return { status: rep.status as SweepStatus, sweep };
  }

  /** Submits a wire spec as it is (no local check): for tests of the coordinator's own validation. */
  async submitRaw(spec: v1.ISweepSpec, sweepId = ''): Promise<SweepStatus> {
    return (
      await this.bus.request(
        subjects.sweepSubmit,
        v1.SubmitSweepRequest,
        { spec, sweepId },
        v1.SubmitSweepReply,
        60_000,
      )
    ).status as SweepStatus;
  }

  async get(sweepId: string): Promise<{ status: SweepStatus; spec: v1.SweepSpec | null }> {
    const rep = await this.bus.request(
      subjects.sweepGet,
      v1.GetSweepRequest,
      { sweepId },
      v1.GetSweepReply,
    );
    return { status: rep.status as SweepStatus, spec: (rep.spec as v1.SweepSpec | null) ?? null };
  }

  async list(limit = 100): Promise<SweepStatus[]> {
    return (
      await this.bus.request(
        subjects.sweepList,
        v1.ListSweepsRequest,
        { limit },
        v1.ListSweepsReply,
      )
    ).sweeps as SweepStatus[];
  }

  async cancel(sweepId: string): Promise<SweepStatus> {
    return (
      await this.bus.request(
        subjects.sweepCancel,
        v1.CancelSweepRequest,
        { sweepId },
        v1.CancelSweepReply,
      )
    ).status as SweepStatus;
  }

  async resume(sweepId: string): Promise<{ status: SweepStatus; requeued: number }> {
    const rep = await this.bus.request(
      subjects.sweepResume,
      v1.ResumeSweepRequest,
      { sweepId },
      v1.ResumeSweepReply,
      120_000,
    );
    return { status: rep.status as SweepStatus, requeued: rep.requeuedTrials };
  }

  /**
   * Waits until the sweep leaves RUNNING and returns its status; `onStatus` sees every status on
   * the way. It watches the sweep's status in KV, so the end is seen the moment it is written and
   * the coordinator answers no polls; where the watch cannot be made (a NATS user without the
   * permission) it asks the coordinator every `intervalMs` instead.
   */
  async waitFor(
    sweepId: string,
    opts: {
      intervalMs?: number;
      timeoutMs?: number;
      onStatus?: (s: SweepStatus) => void;
      signal?: AbortSignal;
    } = {},
  ): Promise<SweepStatus> {
    const deadline = Date.now() + (opts.timeoutMs ?? Infinity);
    let first: SweepStatus | undefined;
    while (!first) {
      try {
        first = (await this.get(sweepId)).status; // a NotFoundError for an unknown sweep
      } catch (err) {
        // No coordinator answered (one restarting, NATS reconnecting): ask again.
        if (!(err as { retryable?: boolean }).retryable || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 500, 1000)));
      }
    }
    opts.onStatus?.(first);
    if (first.state !== v1.SweepState.SWEEP_STATE_RUNNING || opts.signal?.aborted) return first;
    const denied = (err: unknown) => /permission/i.test((err as Error)?.message ?? '');
    let kv: TypedKv<SweepStatus>;
    try {
      kv = await TypedKv.open(this.bus, buckets.sweeps, v1.SweepStatus);
    } catch (err) {
      if (!denied(err)) throw err;
      return this.pollStatus(sweepId, first, deadline, opts);
    }
    // One signal ends the watch: the caller's, or the timeout.
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) ctl.abort(); // aborted while KV was being opened
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => ((timedOut = true), ctl.abort()), opts.timeoutMs);
    let last = first;
    try {
      for await (const st of kv.watch(sweepKeys.status(sweepId), ctl.signal)) {
        if (!st) continue;
        last = st;
        opts.onStatus?.(st);
        if (st.state !== v1.SweepState.SWEEP_STATE_RUNNING) return st;
      }
    } catch (err) {
      if (!denied(err)) throw err;
      return this.pollStatus(sweepId, last, deadline, opts);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (timedOut) throw new Error(`sweep ${sweepId} still running after ${opts.timeoutMs} ms`);
    if (opts.signal?.aborted) return last;
    // The watch ended on its own (the connection closed): go on as a poll would.
    return this.pollStatus(sweepId, last, deadline, opts);
  }

  private async pollStatus(
    sweepId: string,
    last: SweepStatus,
    deadline: number,
    opts: {
      intervalMs?: number;
      timeoutMs?: number;
      onStatus?: (s: SweepStatus) => void;
      signal?: AbortSignal;
    },
  ): Promise<SweepStatus> {
    for (;;) {
      if (Date.now() >= deadline)
        throw new Error(`sweep ${sweepId} still running after ${opts.timeoutMs} ms`);
      if (opts.signal?.aborted) return last;
      // The last wait ends at the deadline, not an interval past it.
      const wait = Math.min(opts.intervalMs ?? 500, deadline - Date.now());
      await new Promise((r) => setTimeout(r, wait));
      let st: SweepStatus | undefined;
      try {
        st = (await this.get(sweepId)).status;
      } catch (err) {
        if (!(err as { retryable?: boolean }).retryable) throw err;
      }
      if (st) {
        last = st;
        opts.onStatus?.(st);
        if (st.state !== v1.SweepState.SWEEP_STATE_RUNNING) return st;
      }
    }
  }

  /** Messages `read` skipped because they did not decode (see `read`). */
  undecodable = 0;

  /** Every message of `stream` on `filter`, decoded, in stream order; undecodable ones skipped. */
  async *read<T>(stream: string, filter: string, decode: (b: Uint8Array) => T): AsyncGenerator<T> {
    for await (const data of readStream(this.bus, stream, filter)) {
      let value: T;
      try {
        value = decode(data);
      } catch {
        // Not this type (garbage, or a message from an older version): skipped and counted,
        // so that one bad message does not end the read of a whole sweep.
        this.undecodable++;
        continue;
      }
      yield value;
    }
  }

  /**
   * Every trial result of a sweep (trainers publish them a job at a time; each is yielded alone),
   * with its params: results in the columnar form carry none (they follow from the sweep's spec
   * and the trial's index), so they are filled in from the stored spec.
   */
  async *results(sweepId: string): AsyncGenerator<v1.TrialResult> {
    let paramsOf: ((index: number) => Record<string, string>) | null | undefined;
    // A result that does not check (columns of different lengths) is skipped like garbage.
    for await (const trials of this.read(streams.results, subjects.results(sweepId), (b) =>
      jobResultTrials(v1.JobResult.decode(b)),
    ))
      for (const r of trials) {
        if (Object.keys(r.params).length === 0) {
          // Asked once: null (no stored spec) is an answer too, not a reason to ask per trial.
          if (paramsOf === undefined) paramsOf = await this.sweepParamsOf(sweepId);
          if (paramsOf) r.params = paramsOf(trialIndex(r.trialId));
        }
        yield r;
      }
  }

  /** The params of a stored sweep's trials by index; null when its spec cannot be had. */
  private async sweepParamsOf(
    sweepId: string,
  ): Promise<((index: number) => Record<string, string>) | null> {
    return this.storedSweep(sweepId).then(sweepParams, () => null);
  }

  /** The sweep's spec as the coordinator stored it, compiled; a NotFoundError when it has none. */
  async storedSweep(sweepId: string): Promise<CompiledSweep> {
    const { spec } = await this.get(sweepId);
    if (!spec) throw new NotFoundError(`sweep ${sweepId} has no stored spec`, { sweepId });
    return compileSweep(sweepFromProto(spec), noLimits);
  }

  /**
   * Telemetry chunks of a sweep, or of one trial as the job of its result recorded it (trainers
   * publish a job's chunks in batches on the job's subject; each chunk is yielded alone).
   */
  async *telemetry(
    sweepId: string,
    trial?: { trialId: string; jobId: string },
  ): AsyncGenerator<v1.TelemetryChunk> {
    const subject = trial
      ? subjects.telemetry(sweepId, trial.jobId)
      : subjects.telemetryOfSweep(sweepId);
    for await (const batch of this.read(streams.telemetry, subject, (b) =>
      v1.TelemetryBatch.decode(b),
    ))
      for (const c of batch.chunks)
        if (!trial || c.trialId === trial.trialId) yield v1.TelemetryChunk.fromObject(c);
  }

  async findings(sweepId: string): Promise<Finding[]> {
    const out: Finding[] = [];
    const seen = new Set<string>();
    for await (const f of this.read(streams.findings, subjects.findings(sweepId), (b) =>
      v1.Finding.decode(b),
    )) {
      if (seen.has(f.findingId)) continue;
      seen.add(f.findingId);
      out.push(findingFromMessage(f));
    }
    return out;
  }

  /** Plain JSON of a status, for printing. */
  static plain(st: SweepStatus): Record<string, unknown> {
    return toPlain(v1.SweepStatus, st);
  }

  async close(): Promise<void> {
    await this.bus.drain();
  }
}
