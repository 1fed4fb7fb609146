/**
 * The analyzer service: moves messages into an `AnalyzerHost` and findings out; the science is in
 * @dynlab/analysis. Two durable consumers (per analyzer group): telemetry chunks are buffered per
 * trial in order (a chunk index seen before, as from a redelivered job, is dropped), and a trial
 * ends when its result has arrived and all the chunks the result counts are in; a trial whose
 * chunks were acked before a restart of this service is re-read from the telemetry stream by its
 * subject. A sweep ends when every trial has ended. Each trial is rebuilt from the sweep's stored
 * spec (`trialAt`), so no service has to ship specs to analyzers.
 */
import { DynlabClient } from '@dynlab/client';
import {
  AnalyzerHost,
  createBuiltinAnalyzers,
  loadAnalyzerModule,
  type AnalyzerEntry,
} from '@dynlab/analysis';
import {
  TypedKv,
  buckets,
  consumers,
  ensureConsumer,
  logConsumerConfig,
  startDurableConsumer,
  streams,
  subjects,
  type Bus,
  type RunningConsumer,
} from '@dynlab/bus';
import { DynlabError, ErrorCode, type Logger } from '@dynlab/core';
import { theory } from '@dynlab/engine';
import {
  createAnalyzerMetrics,
  type AnalyzerServiceMetrics,
  type MetricsRegistry,
} from '@dynlab/metrics';
import { toPlain, v1 } from '@dynlab/proto';
import {
  compileSweep,
  jobResultTrials,
  noLimits,
  sweepFromProto,
  trialAt,
  trialId,
  trialIndex,
  type CompiledSweep,
  type CompiledTrial,
  type Finding,
  type TelemetryColumns,
  type TrialOutcome,
} from '@dynlab/spec';

const statusName: Record<number, TrialOutcome['status']> = {
  1: 'ok',
  2: 'diverged',
  3: 'failed',
  4: 'cancelled',
};

/**
 * Throws a VALIDATION error unless `trial` is a trial id of sweep `sweep`: a message of another
 * type can decode as a chunk or a result, and is then dead-lettered and counted as malformed.
 */
function checkTrialIds(what: string, sweep: string, trial: string): void {
  const i = trialIndex(trial);
  if (!sweep || i < 0 || trialId(sweep, i) !== trial)
    throw new DynlabError(
      ErrorCode.Validation,
      `${what} without a trial id of its sweep (trial '${trial}', sweep '${sweep}')`,
    );
}

/** Telemetry chunk message -> columns (the field names are the same). */
export function chunkColumns(c: v1.TelemetryChunk): TelemetryColumns {
  const p = toPlain(v1.TelemetryChunk, c) as unknown as TelemetryColumns;
  return {
    steps: p.steps,
    loss: p.loss,
    error: p.error,
    features: p.features,
    gradShare: p.gradShare,
    probes: p.probes,
    probeOutputs: p.probeOutputs,
    layers: p.layers,
    paramNorms: p.paramNorms,
    deadUnits: p.deadUnits,
    trainPoints: p.trainPoints,
    trainOutputs: p.trainOutputs,
  };
}

/** Result message -> outcome. */
export function resultOutcome(r: v1.TrialResult): TrialOutcome {
  return {
    status: statusName[r.status] ?? 'failed',
    finalLoss: r.finalLoss,
    finalError: r.finalError,
    stepsDone: r.stepsDone,
    backend: r.backend,
    wallS: r.wallS,
    ...(r.error?.code ? { error: { code: r.error.code, message: r.error.message ?? '' } } : {}),
  };
}

/** Built-in names or module paths -> host entries (with the engine's theory for learning-curve). */
export async function resolveAnalyzers(
  names: string[],
  options: Record<string, unknown> = {},
): Promise<AnalyzerEntry[]> {
  const builtins = createBuiltinAnalyzers({ theory });
  const chosen = names.length > 0 ? names : builtins.map((b) => b.name);
  const out: AnalyzerEntry[] = [];
  for (const name of chosen) {
    const definition = builtins.find((b) => b.name === name) ?? (await loadAnalyzerModule(name));
    out.push({ definition, options: options[definition.name] ?? {} });
  }
  return out;
}

interface TrialState {
  next: number;
  /** Chunks that arrived ahead of `next` (a redelivered message overtaken by later ones). */
  ahead: Map<number, v1.TelemetryChunk>;
  outcome?: TrialOutcome;
  expected?: number;
  /**
   * The job this trial is read from: the job of its first chunk or result. Chunks and results of
   * another job (a cancelled run and its resume) are not mixed in; the trial is analyzed as the
   * first job the analyzer saw ran it.
   */
  jobId?: string;
  ended: boolean;
}
interface SweepState {
  sweep: CompiledSweep;
  trials: Map<string, TrialState>;
  ended: number;
  done: boolean;
}

/** Feeds a host from messages, whatever their source (live consumers or a replay). */
export class SweepFeeder {
  private readonly sweeps = new Map<string, Promise<SweepState>>();

  constructor(
    private readonly host: AnalyzerHost,
    private readonly loadSweep: (sweepId: string) => Promise<CompiledSweep>,
    private readonly refetch: (
      sweepId: string,
      trialId: string,
      jobId: string,
    ) => Promise<v1.TelemetryChunk[]>,
  ) {}

  private sweep(id: string): Promise<SweepState> {
    let s = this.sweeps.get(id);
    if (!s) {
      s = this.loadSweep(id).then(async (sweep) => {
        await this.host.openSweep(id, sweep);
        return { sweep, trials: new Map(), ended: 0, done: false };
      });
      s.catch(() => this.sweeps.delete(id));
      this.sweeps.set(id, s);
    }
    return s;
  }

  private trialOf(
    st: SweepState,
    sweepId: string,
    trialId: string,
  ): { trial: CompiledTrial; state: TrialState } {
    const trial = trialAt(st.sweep, sweepId, trialIndex(trialId));
    if (!trial)
      throw new DynlabError(
        ErrorCode.Validation,
        `trial ${trialId} is not part of sweep ${sweepId}`,
      );
    let state = st.trials.get(trialId);
    if (!state) st.trials.set(trialId, (state = { next: 0, ahead: new Map(), ended: false }));
    return { trial, state };
  }

  async chunk(c: v1.TelemetryChunk): Promise<void> {
    const st = await this.sweep(c.sweepId);
    if (st.done) return;
    const { trial, state } = this.trialOf(st, c.sweepId, c.trialId);
    if (state.ended || c.chunkIndex < state.next) return; // seen before (a redelivery)
    if ((state.jobId ??= c.jobId) !== c.jobId) return; // another run of the trial
    state.ahead.set(c.chunkIndex, c);
    for (let next = state.ahead.get(state.next); next; next = state.ahead.get(state.next)) {
      state.ahead.delete(state.next);
      state.next++;
      await this.host.chunk(c.sweepId, trial, chunkColumns(next));
    }
    await this.maybeEnd(st, c.sweepId, c.trialId, trial, state);
  }

  async result(r: v1.TrialResult): Promise<void> {
    const st = await this.sweep(r.sweepId);
    if (st.done) return;
    const { trial, state } = this.trialOf(st, r.sweepId, r.trialId);
    if (state.ended || state.outcome) return;
    if ((state.jobId ??= r.jobId) !== r.jobId) return; // another run of the trial
    state.outcome = resultOutcome(r);
    state.expected = r.telemetryChunks;
    await this.maybeEnd(st, r.sweepId, r.trialId, trial, state);
  }

  /** Re-reads a trial's chunks from the stream when the live ones are not all there (after a restart). */
  async settle(sweepId: string, trialId: string): Promise<void> {
    const st = await this.sweep(sweepId);
    const { trial, state } = this.trialOf(st, sweepId, trialId);
    if (state.ended || !state.outcome || state.next >= (state.expected ?? 0)) return;
    const chunks = (await this.refetch(sweepId, trialId, state.jobId ?? '')).sort(
      (a, b) => a.chunkIndex - b.chunkIndex,
    );
    for (const c of chunks) {
      if (c.chunkIndex !== state.next) continue;
      state.next++;
      state.ahead.delete(c.chunkIndex);
      await this.host.chunk(sweepId, trial, chunkColumns(c));
    }
    if (state.next < (state.expected ?? 0)) state.expected = state.next; // the stream lost some (age or size limit)
    await this.maybeEnd(st, sweepId, trialId, trial, state);
  }

  private async maybeEnd(
    st: SweepState,
    sweepId: string,
    trialId: string,
    trial: CompiledTrial,
    state: TrialState,
  ): Promise<void> {
    if (state.ended || !state.outcome || state.next < (state.expected ?? 0)) return;
    state.ended = true;
    await this.host.trialEnd(sweepId, trial, state.outcome);
    st.trials.set(trialId, state);
    if (++st.ended >= st.sweep.trialCount) {
      st.done = true;
      await this.host.sweepEnd(sweepId);
      st.trials.clear();
    }
  }
}

export interface AnalyzerServiceOptions {
  bus: Bus;
  logger: Logger;
  registry: MetricsRegistry;
  analyzers: AnalyzerEntry[];
  /** Consumer group: analyzers of one group share the work. @default 'default' */
  group?: string;
  /** Seconds to wait for live chunks after a trial's result before re-reading them. @default 10 */
  settleS?: number;
}

/** Reads every chunk of one trial, as its job recorded it, from the telemetry stream. */
export async function fetchTrialTelemetry(
  bus: Bus,
  sweepId: string,
  trialId: string,
  jobId: string,
): Promise<v1.TelemetryChunk[]> {
  const out: v1.TelemetryChunk[] = [];
  for await (const c of DynlabClient.over(bus).telemetry(sweepId, { trialId, jobId })) out.push(c);
  return out;
}

export class AnalyzerService {
  private readonly metrics: AnalyzerServiceMetrics;
  private readonly stops: RunningConsumer[] = [];
  private host!: AnalyzerHost;
  private timer?: NodeJS.Timeout;

  private constructor(private readonly o: AnalyzerServiceOptions) {
    this.metrics = createAnalyzerMetrics(o.registry);
  }

  static async start(o: AnalyzerServiceOptions): Promise<AnalyzerService> {
    const s = new AnalyzerService(o);
    await s.run();
    return s;
  }

  private async run(): Promise<void> {
    const { bus, logger } = this.o;
    const group = this.o.group ?? 'default';
    this.host = new AnalyzerHost({
      analyzers: this.o.analyzers,
      logger,
      metrics: this.metrics.plugins,
      onFinding: (f) => publishFinding(bus, f),
    });
    for (const e of this.o.analyzers) this.metrics.plugins.register(e.definition.name);
    const specs = await TypedKv.open(bus, buckets.sweeps, v1.SweepSpec);
    const feeder = new SweepFeeder(
      this.host,
      async (id) => {
        const spec = await specs.get(`spec.${id}`);
        if (!spec)
          throw new DynlabError(ErrorCode.NotFound, `sweep ${id} has no stored spec`, {
            retryable: true,
          });
        this.metrics.initSweep(id);
        return compileSweep(sweepFromProto(spec.value), noLimits);
      },
      (sweepId, trialId, jobId) => fetchTrialTelemetry(bus, sweepId, trialId, jobId),
    );
    const tDurable = consumers.analyzerTelemetry(group);
    const rDurable = consumers.analyzerResults(group);
    await ensureConsumer(bus, streams.telemetry, logConsumerConfig(tDurable, undefined, 60));
    await ensureConsumer(bus, streams.results, logConsumerConfig(rDurable, undefined, 60));
    const settleMs = (this.o.settleS ?? 10) * 1000;
    this.stops.push(
      await startDurableConsumer(bus, {
        stream: streams.telemetry,
        durable: tDurable,
        type: v1.TelemetryBatch,
        batch: 64,
        logger,
        onMalformed: () => this.metrics.malformedMessages.inc({ kind: 'telemetry' }),
        handler: async (b) => {
          // Checked whole before any is fed: a message with one bad chunk is not taken at all.
          if (b.chunks.length === 0)
            throw new DynlabError(ErrorCode.Validation, 'telemetry batch without chunks');
          const chunks = b.chunks.map((c) => v1.TelemetryChunk.fromObject(c));
          for (const c of chunks) {
            checkTrialIds('telemetry chunk', c.sweepId, c.trialId);
            if (c.sweepId !== b.sweepId)
              throw new DynlabError(
                ErrorCode.Validation,
                `telemetry batch of sweep '${b.sweepId}' holds a chunk of sweep '${c.sweepId}'`,
              );
          }
          for (const c of chunks) {
            this.metrics.telemetryChunks.inc({ sweep: c.sweepId });
            await feeder.chunk(c);
          }
        },
      }),
      await startDurableConsumer(bus, {
        stream: streams.results,
        durable: rDurable,
        type: v1.JobResult,
        batch: 64,
        logger,
        onMalformed: () => this.metrics.malformedMessages.inc({ kind: 'result' }),
        handler: async (job) => {
          // Checked whole before any is fed: a message with one bad entry is not taken at all.
          const results = jobResultTrials(job);
          for (const r of results) checkTrialIds('result', r.sweepId, r.trialId);
          for (const r of results) {
            this.metrics.results.inc({ sweep: r.sweepId });
            await feeder.result(r);
          }
          // Chunks still missing after a while were acked before a restart: re-read them.
          setTimeout(() => {
            for (const r of results)
              void feeder.settle(r.sweepId, r.trialId).catch((err) =>
                logger.warn('cannot re-read telemetry', {
                  trial: r.trialId,
                  error: (err as Error).message,
                }),
              );
          }, settleMs).unref();
        },
      }),
    );
    this.timer = setInterval(() => void this.probeLag(tDurable), 5000);
    this.timer.unref();
    void this.probeLag(tDurable);
  }

  private async probeLag(durable: string): Promise<void> {
    try {
      const info = await this.o.bus.jsm.consumers.info(streams.telemetry, durable);
      for (const e of this.o.analyzers)
        this.metrics.consumerLag.set({ analyzer: e.definition.name }, info.num_pending);
    } catch {
      /* the next probe will tell */
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.stops) await s.stop();
    await this.host.close();
  }
}

/** Publishes a finding (dedup id = finding id, so a replay does not duplicate). */
export async function publishFinding(bus: Bus, f: Finding): Promise<void> {
  const msg = v1.Finding.fromObject({ ...f, severity: `SEVERITY_${f.severity.toUpperCase()}` });
  await bus.publish(subjects.findings(f.sweepId), v1.Finding, msg, { msgId: f.findingId });
}
