/**
 * The client side of the sweep protocol, shared by the `dynlab` CLI and the end-to-end tests:
 * typed request/reply to the coordinators, and read-back of a sweep's results, telemetry and
 * findings from their streams (each read is an ephemeral ordered consumer over one sweep's
 * subjects, so it works on any past sweep that the streams still hold).
 */
import { Bus, streams, subjects, type BusOptions } from '@dynlab/bus';
import { toPlain, v1 } from '@dynlab/proto';
import {
  compileSweep,
  sweepToProto,
  type CompiledSweep,
  type Finding,
  type Severity,
  type SweepLimits,
  defaultLimits,
} from '@dynlab/spec';

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

  /** Polls the sweep until it leaves RUNNING (or `until` says stop); `onStatus` sees each poll. */
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
    for (;;) {
      let st: SweepStatus | undefined;
      try {
        st = (await this.get(sweepId)).status;
      } catch (err) {
        if (!(err as { retryable?: boolean }).retryable) throw err;
      }
      if (st) {
        opts.onStatus?.(st);
        if (st.state !== v1.SweepState.SWEEP_STATE_RUNNING) return st;
      }
      if (Date.now() > deadline)
        throw new Error(`sweep ${sweepId} still running after ${opts.timeoutMs} ms`);
      if (opts.signal?.aborted) return st!;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  }

  /** Messages `read` skipped because they did not decode (see `read`). */
  undecodable = 0;

  /** Every message of `stream` on `filter`, decoded, in stream order; undecodable ones skipped. */
  async *read<T>(stream: string, filter: string, decode: (b: Uint8Array) => T): AsyncGenerator<T> {
    // One filter as a string: a list needs nats-server 2.10 (2.9 would ignore it and read the whole stream).
    const consumer = await this.bus.js.consumers.get(stream, { filterSubjects: filter });
    try {
      // Read until the server says nothing is pending: an empty fetch alone is not the end (a
      // slow server or a consumer reset can return one early), so ask again, a bounded number of times.
      let pending = (await consumer.info()).num_pending;
      let emptyRounds = 0;
      while (pending > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(pending, 512), expires: 3000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          pending--;
          let value: T;
          try {
            value = decode(m.data);
          } catch {
            // Not this type (garbage, or a message from an older version): skipped and counted,
            // so that one bad message does not end the read of a whole sweep.
            this.undecodable++;
            continue;
          }
          yield value;
        }
        if (got > 0 && pending > 0) continue;
        pending = (await consumer.info()).num_pending;
        if (got === 0 && ++emptyRounds > 5) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  /** Every trial result of a sweep (trainers publish them a job at a time; each is yielded alone). */
  async *results(sweepId: string): AsyncGenerator<v1.TrialResult> {
    for await (const job of this.read(streams.results, subjects.results(sweepId), (b) =>
      v1.JobResult.decode(b),
    ))
      for (const r of job.results) yield v1.TrialResult.fromObject(r);
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
