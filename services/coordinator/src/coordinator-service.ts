/**
 * The coordinator. It owns sweep state and nothing else runs work: it
 * - serves submit/get/list/cancel/resume (request/reply, queue group `coordinators`, so several
 *   coordinators can run side by side: all state is in JetStream KV with compare-and-set);
 * - on submit validates (every problem named, nothing enqueued on failure), expands the sweep as
 *   a stream, checks every job fits the server's max payload, records the sweep, then publishes
 *   the jobs with their ids as dedup ids;
 * - consumes job results (every trial outcome of a job in one message) and records each trial
 *   once, in batched compare-and-sets of the sweep's outcome shards and counts, completing the
 *   sweep when every trial has an outcome; dead-lettered jobs become `failed` results with the
 *   reason; findings are counted per sweep;
 * - on start-up finishes any enqueue a previous coordinator left half done and recounts running
 *   sweeps, so a restart loses nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  consumers,
  coordinatorQueue,
  checkToken,
  isToken,
  ensureConsumer,
  logConsumerConfig,
  startDeadLetterConsumer,
  startDurableConsumer,
  streams,
  subjects,
  type Bus,
  type RunningConsumer,
} from '@dynlab/bus';
import { DynlabError, ErrorCode, NotFoundError, ValidationError, type Logger } from '@dynlab/core';
import {
  createCoordinatorMetrics,
  type CoordinatorMetrics,
  type MetricsRegistry,
  type SweepCountsLike,
} from '@dynlab/metrics';
import { encode, v1 } from '@dynlab/proto';
import {
  compileSweep,
  jobResultOutcomes,
  jobResultToProto,
  jobToProto,
  jobTrialIndices,
  planSweepJobs,
  sweepFromProto,
  sweepToProto,
  type CompiledSweep,
  type JobPlan,
  type PlanOptions,
  type SweepLimits,
} from '@dynlab/spec';
import {
  countField,
  finishedOf,
  runOfJob,
  SweepStore,
  type Status,
  type TrialOutcomeCode,
} from './sweep-store';

const S = v1.SweepState;

/** Results the coordinator's results consumer holds at once (each acked once recorded). */
const resultConcurrency = 64;
/**
 * Outcomes are written at most this long after their result arrived (one compare-and-set per
 * shard and one of the sweep's counts for every result in between), or at once when half the
 * results the consumer may hold are waiting, so it never stalls on the timer.
 */
const flushAfterMs = 50;
const flushAtResults = resultConcurrency / 2;

export interface CoordinatorOptions {
  bus: Bus;
  logger: Logger;
  registry: MetricsRegistry;
  limits: SweepLimits;
  /** Seconds between reads of the job queue's depth for the metrics. @default 5 */
  queueProbeS?: number;
}

/**
 * The jobs of a plan that still hold a trial without an outcome (`outcomes` by trial index, 0:
 * none), with their ids unchanged. Used to finish an interrupted enqueue: re-planning only the
 * unfinished trials would shift every job id, and JetStream's dedup would then drop new jobs under
 * ids already published, losing their trials.
 */
function* withUnfinished(jobs: Iterable<JobPlan>, outcomes: Uint8Array): Generator<JobPlan> {
  for (const j of jobs)
    if (j.runs.some((r) => r.seeds.some((_, k) => outcomes[r.firstIndex + k] === 0))) yield j;
}

/** A planned job as its message bytes. */
interface EncodedJob {
  jobId: string;
  trials: number;
  bytes: Uint8Array;
}

/** Encoded jobs kept from a submit's size check for its enqueue, at most (bytes). */
const keptJobBytes = 64 * 2 ** 20;

function* encodeJobs(sweepId: string, jobs: Iterable<JobPlan>): Generator<EncodedJob> {
  for (const job of jobs)
    yield {
      jobId: job.jobId,
      trials: job.trialCount,
      bytes: encode(v1.Job, { ...jobToProto(sweepId, job), createdMs: Date.now() }),
    };
}

/** A new sweep id: sortable by time, unique, one subject token. */
export function newSweepId(): string {
  return `sw-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

function stateLabel(s: v1.SweepState): 'running' | 'complete' | 'cancelled' | 'failed' {
  return s === S.SWEEP_STATE_COMPLETE
    ? 'complete'
    : s === S.SWEEP_STATE_CANCELLED
      ? 'cancelled'
      : s === S.SWEEP_STATE_FAILED
        ? 'failed'
        : 'running';
}

/** A sweep record's trial counts, as the progress gauges take them. */
function countsOf(st: Status): SweepCountsLike {
  const c = st.counts;
  return {
    total: c?.total ?? 0,
    ok: c?.ok ?? 0,
    diverged: c?.diverged ?? 0,
    failed: c?.failed ?? 0,
    cancelled: c?.cancelled ?? 0,
  };
}

export class Coordinator {
  private readonly bus: Bus;
  private readonly log: Logger;
  private readonly metrics: CoordinatorMetrics;
  private readonly stops: (() => Promise<void> | void)[] = [];
  private probe?: NodeJS.Timeout;
  private readonly totals = new Map<string, number>();
  /** Outcomes waiting for the next batched write, per sweep. */
  private readonly pendingOutcomes = new Map<
    string,
    {
      total: number;
      outcomes: TrialOutcomeCode[];
      waiters: { resolve: () => void; reject: (e: unknown) => void }[];
    }
  >();
  private countFlush?: NodeJS.Timeout;
  /** Results waiting for the next batched write. */
  private pendingResults = 0;
  /** Trials with an outcome, per sweep, as the last write left them (for finishing early). */
  private readonly finished = new Map<string, number>();
  /** Each sweep's last queued flush or recount (see `serially`). */
  private readonly sweepWork = new Map<string, Promise<void>>();
  /** Sweeps whose recount failed: retried at each queue probe. */
  private readonly recountLater = new Set<string>();

  private constructor(
    private readonly store: SweepStore,
    private readonly opts: CoordinatorOptions,
  ) {
    this.bus = opts.bus;
    this.log = opts.logger;
    this.metrics = createCoordinatorMetrics(opts.registry);
  }

  static async start(opts: CoordinatorOptions): Promise<Coordinator> {
    const c = new Coordinator(await SweepStore.open(opts.bus), opts);
    await c.recover();
    c.serve();
    await c.consume();
    c.probe = setInterval(() => void c.probeQueue(), (opts.queueProbeS ?? 5) * 1000);
    c.probe.unref();
    void c.probeQueue();
    return c;
  }

  async stop(): Promise<void> {
    clearInterval(this.probe);
    for (const s of this.stops.reverse()) await s();
  }

  // ---- requests -------------------------------------------------------------------------

  private serve(): void {
    const malformed = () => this.metrics.malformedMessages.inc({ kind: 'request' });
    const q = { queue: coordinatorQueue, onMalformed: malformed };
    const b = this.bus;
    this.stops.push(
      b.serve(
        subjects.sweepSubmit,
        v1.SubmitSweepRequest,
        v1.SubmitSweepReply,
        (r) => this.submit(r),
        q,
      ).stop,
      b.serve(
        subjects.sweepGet,
        v1.GetSweepRequest,
        v1.GetSweepReply,
        async (r) => ({
          status: await this.mustGet(r.sweepId ?? ''),
          spec: await this.store.spec(r.sweepId ?? ''),
        }),
        q,
      ).stop,
      b.serve(
        subjects.sweepList,
        v1.ListSweepsRequest,
        v1.ListSweepsReply,
        async (r) => ({ sweeps: await this.list(r.limit || 100) }),
        q,
      ).stop,
      b.serve(
        subjects.sweepCancel,
        v1.CancelSweepRequest,
        v1.CancelSweepReply,
        async (r) => ({ status: await this.cancel(r.sweepId) }),
        q,
      ).stop,
      b.serve(
        subjects.sweepResume,
        v1.ResumeSweepRequest,
        v1.ResumeSweepReply,
        (r) => this.resume(r.sweepId),
        q,
      ).stop,
    );
  }

  private async mustGet(id: string): Promise<Status> {
    const st = await this.store.status(id);
    if (!st) throw new NotFoundError(`no sweep '${id}'`, { sweepId: id });
    return st;
  }

  private async list(limit: number): Promise<Status[]> {
    const ids = (await this.store.sweepIds()).sort().reverse().slice(0, limit);
    const out: Status[] = [];
    for (const id of ids) {
      const st = await this.store.status(id);
      if (st) out.push(st);
    }
    return out;
  }

  /** Validate, plan (checking sizes), record, enqueue. Nothing is enqueued when any check fails. */
  async submit(req: v1.SubmitSweepRequest): Promise<v1.ISubmitSweepReply> {
    const t0 = process.hrtime.bigint();
    const done = (outcome: 'accepted' | 'rejected' | 'error') =>
      this.metrics.submitDuration.observe({ outcome }, Number(process.hrtime.bigint() - t0) / 1e9);
    try {
      if (!req.spec)
        throw new ValidationError([{ path: 'spec', message: 'required' }], {
          what: 'submit request',
        });
      const sweep = compileSweep(sweepFromProto(req.spec), this.opts.limits);
      const id = req.sweepId ? checkToken(req.sweepId, 'sweepId') : newSweepId();
      const existing = await this.store.status(id);
      if (existing) {
        done('accepted');
        return { status: existing };
      }
      let jobs = 0;
      // The checked bytes are what gets published, kept up to a bound; a bigger sweep is encoded
      // again as it is enqueued, so the coordinator's memory stays bounded in the trial count.
      let kept: EncodedJob[] | undefined = [];
      let keptBytes = 0;
      // The packing is recorded with the sweep, so that whoever finishes the enqueue plans the same jobs.
      const packing: number[] = [];
      for (const job of encodeJobs(id, planSweepJobs(sweep, id, { record: packing }))) {
        const bytes = job.bytes.length;
        if (kept && (keptBytes += bytes) <= keptJobBytes) kept.push(job);
        else kept = undefined;
        if (bytes > this.bus.maxPayload)
          throw new ValidationError(
            [
              {
                path: 'population',
                message: `a job of ${job.trials} trials encodes to ${bytes} bytes, over the NATS max payload of ${this.bus.maxPayload}: lower the population (or the inline data)`,
              },
            ],
            { what: 'sweep spec' },
          );
        jobs++;
      }
      const now = Date.now();
      const status: v1.ISweepStatus = {
        sweepId: id,
        name: sweep.name,
        state: S.SWEEP_STATE_RUNNING,
        counts: { total: sweep.trialCount, jobs, enqueued: false, packing },
        createdMs: now,
        updatedMs: now,
      };
      if (!(await this.store.create(status, sweepToProto(sweep)))) {
        done('accepted');
        return { status: await this.store.status(id) };
      }
      this.metrics.initSweep(id);
      this.log.info('sweep submitted', {
        sweep: id,
        name: sweep.name,
        trials: sweep.trialCount,
        jobs,
      });
      const after = await this.enqueue(
        id,
        kept ?? encodeJobs(id, planSweepJobs(sweep, id, { packing })),
      );
      done('accepted');
      return { status: after };
    } catch (err) {
      if (err instanceof ValidationError) {
        this.metrics.validationRejections.inc();
        done('rejected');
      } else done('error');
      throw err;
    }
  }

  /** Publishes jobs (dedup id = job id, so a repeated enqueue adds nothing) and marks the sweep enqueued. */
  private async enqueue(id: string, jobs: Iterable<EncodedJob>): Promise<Status | null> {
    const window: Promise<void>[] = [];
    let n = 0;
    for (const job of jobs) {
      window.push(
        this.bus.publishEncoded(subjects.jobs(id), v1.Job, job.bytes, { msgId: job.jobId }),
      );
      n++;
      if (window.length >= 32) await Promise.all(window.splice(0));
    }
    await Promise.all(window);
    this.metrics.jobsPublished.inc({ sweep: id }, n);
    return this.store.modify(id, (st) => {
      st.counts!.enqueued = true;
      st.updatedMs = Date.now();
      return st;
    });
  }

  private async cancel(id: string): Promise<Status> {
    const st = await this.mustGet(id);
    if (st.state !== S.SWEEP_STATE_RUNNING) return st;
    const after = await this.store.modify(id, (s) => {
      if (s.state !== S.SWEEP_STATE_RUNNING) return undefined;
      s.state = S.SWEEP_STATE_CANCELLED;
      s.updatedMs = s.finishedMs = Date.now();
      return s;
    });
    this.finished.delete(id); // no result finishes it now (a resume starts counting anew)
    // Drop the queued jobs; running ones stop at their next heartbeat when trainers see the notice.
    await this.bus.jsm.streams.purge(streams.jobs, { filter: subjects.jobs(id) });
    await this.bus.publish(
      subjects.cancel(id),
      v1.CancelNotice,
      { sweepId: id },
      { jetstream: false },
    );
    this.log.info('sweep cancelled', { sweep: id });
    return after ?? st;
  }

  /** Re-enqueues the trials that have no outcome (or were cancelled). */
  private async resume(id: string): Promise<v1.IResumeSweepReply> {
    const st = await this.mustGet(id);
    const specMsg = await this.store.spec(id);
    if (!specMsg) throw new NotFoundError(`sweep '${id}' has no stored spec`, { sweepId: id });
    const sweep = compileSweep(sweepFromProto(specMsg), this.opts.limits);
    const resumes = (st.counts?.resumes ?? 0) + 1;
    // The resume number is claimed first, by compare-and-set: a concurrent resume of the sweep
    // read the same count and is refused, instead of planning under the same job ids.
    await this.store.modify(id, (s) => {
      if ((s.counts?.resumes ?? 0) !== resumes - 1)
        throw new DynlabError(
          ErrorCode.Conflict,
          `sweep '${id}' was resumed by another request meanwhile (resume ${s.counts?.resumes ?? 0})`,
          { details: { sweepId: id } },
        );
      s.state = S.SWEEP_STATE_RUNNING;
      s.finishedMs = 0;
      s.counts!.resumes = resumes;
      s.counts!.enqueued = false;
      s.counts!.packing = []; // the submit's no longer: recorded below, before any job is published
      return s;
    });
    const rerun = await this.planResume(id, sweep, resumes);
    const jobPrefix = `${id}-r${resumes}`;
    const packing = await this.recordPacking(id, sweep, { jobPrefix, only: rerun }, resumes);
    if (!packing)
      throw new DynlabError(
        ErrorCode.Conflict,
        `sweep '${id}' was resumed again by another request before this resume published a job`,
        { details: { sweepId: id } },
      );
    let requeued = 0;
    const counting = (function* () {
      for (const job of planSweepJobs(sweep, id, { jobPrefix, only: rerun, packing })) {
        requeued += job.trialCount;
        yield job;
      }
    })();
    // The re-run trials' `cancelled` outcomes go (also any recorded since the snapshot above),
    // and late `cancelled` results of the stopped run are refused from now on. A cancelled run
    // may have left part of a series under its job's subject; the re-run records a new one under
    // a new job id, and readers take the series of the job of the trial's result.
    await this.store.startRun(id, sweep.trialCount, resumes, rerun);
    await this.recount(id);
    await this.enqueue(id, encodeJobs(id, counting));
    const after = await this.recount(id);
    this.log.info('sweep resumed', { sweep: id, requeued });
    return { status: after, requeuedTrials: requeued };
  }

  /**
   * The packing the jobs of run `resumes` (0: the submit's) are planned with: the one recorded with
   * the sweep where there is one, else this version's choice for `opts`, recorded now. Called before
   * any of the run's jobs is published, so whoever finishes the enqueue plans the same jobs; the
   * first to record wins, so two coordinators at it (one resuming, one recovering) pack alike.
   * Null when the sweep has moved on to another run meanwhile.
   */
  private async recordPacking(
    id: string,
    sweep: CompiledSweep,
    opts: PlanOptions,
    resumes: number,
  ): Promise<number[] | null> {
    // This version's choice is planned only where none is recorded (planning walks every point).
    let mine: number[] | undefined;
    let packing: number[] | null = null;
    await this.store.modify(id, (s) => {
      packing = null;
      if ((s.counts?.resumes ?? 0) !== resumes) return undefined;
      if (s.counts!.packing?.length) {
        packing = [...s.counts!.packing];
        return undefined;
      }
      if (!mine) {
        mine = [];
        for (const _ of planSweepJobs(sweep, id, { ...opts, record: mine }));
      }
      packing = mine;
      s.counts!.packing = mine;
      return s;
    });
    return packing;
  }

  /**
   * The trials resume number `resume` re-runs (those without an outcome, or cancelled), stored
   * before any of its jobs is published: a coordinator that dies mid-enqueue plans the same jobs
   * from it (the outcomes by then differ, and a plan from them would shift job ids). The first plan
   * stored stands: a coordinator starting while another resumes plans from the same one.
   */
  private async planResume(id: string, sweep: CompiledSweep, resume: number): Promise<Uint8Array> {
    const CANCELLED = v1.TrialStatus.TRIAL_STATUS_CANCELLED;
    const outcomes = await this.store.outcomesOf(id, sweep.trialCount);
    const rerun = outcomes.map((status) => (status === 0 || status === CANCELLED ? 1 : 0));
    return this.store.saveResumePlan(id, resume, rerun);
  }

  // ---- streams --------------------------------------------------------------------------

  private async consume(): Promise<void> {
    await ensureConsumer(
      this.bus,
      streams.results,
      logConsumerConfig(consumers.coordinatorResults),
    );
    await ensureConsumer(
      this.bus,
      streams.findings,
      logConsumerConfig(consumers.coordinatorFindings),
    );
    const results: RunningConsumer = await startDurableConsumer(this.bus, {
      stream: streams.results,
      durable: consumers.coordinatorResults,
      type: v1.JobResult,
      // Many results in flight share one batched outcome and count update per sweep.
      concurrency: resultConcurrency,
      batch: resultConcurrency,
      // Recording is idempotent (a trial's byte is set once): a lost ack costs a redelivery.
      confirmAcks: false,
      logger: this.log,
      onMalformed: () => this.metrics.malformedMessages.inc({ kind: 'result' }),
      handler: (r) => this.onResult(r),
    });
    const findings = await startDurableConsumer(this.bus, {
      stream: streams.findings,
      durable: consumers.coordinatorFindings,
      type: v1.Finding,
      concurrency: 4,
      batch: 64,
      logger: this.log,
      onMalformed: () => this.metrics.malformedMessages.inc({ kind: 'finding' }),
      handler: async (f) => {
        if (!f.sweepId || !f.findingId)
          throw new ValidationError([
            { path: 'finding', message: 'sweepId and findingId are required' },
          ]);
        if (!(await this.store.status(f.sweepId)))
          throw new ValidationError([
            { path: 'finding.sweepId', message: `no sweep '${f.sweepId}'` },
          ]);
        if (await this.store.recordFinding(f))
          await this.store.modify(f.sweepId, (s) => {
            s.findings = (s.findings ?? 0) + 1;
            return s;
          });
      },
    });
    const dead = await startDeadLetterConsumer(this.bus, {
      durable: consumers.coordinatorDeadLetters,
      logger: this.log,
      onMalformed: () => this.metrics.malformedMessages.inc({ kind: 'deadletter' }),
      handler: (d) => this.onDeadLetter(d),
    });
    this.stops.push(
      () => results.stop(),
      () => findings.stop(),
      () => dead.stop(),
    );
  }

  /** A job's results: checked whole (one bad entry rejects the message), then recorded in the next batch. */
  private async onResult(r: v1.JobResult): Promise<void> {
    if (!r.sweepId || !r.jobId)
      throw new ValidationError([{ path: 'result', message: 'sweepId and jobId are required' }]);
    const checked = jobResultOutcomes(r);
    // A message of another type can decode as a result: only trials of a known sweep count.
    const total = await this.sweepTotal(r.sweepId);
    if (total === undefined)
      throw new ValidationError([{ path: 'result.sweepId', message: `no sweep '${r.sweepId}'` }]);
    const run = runOfJob(r.jobId);
    const outcomes = checked.map(({ index, status }, i): TrialOutcomeCode => {
      if (index >= total)
        throw new ValidationError([
          {
            path: `result.trial[${i}]`,
            message: `trial ${index} is not a trial of sweep '${r.sweepId}' (${total} trials)`,
          },
        ]);
      return { index, status, run };
    });
    await this.recordLater(r.sweepId, total, outcomes);
  }

  /** A sweep's trial count (fixed at submit, so cached): undefined for an unknown sweep. */
  private async sweepTotal(id: string): Promise<number | undefined> {
    const cached = this.totals.get(id);
    if (cached !== undefined) return cached;
    const st = await this.store.status(id);
    if (!st) return undefined;
    this.totals.set(id, st.counts?.total ?? 0);
    return st.counts?.total ?? 0;
  }

  /**
   * Queues outcomes for the next batched write (within `flushAfterMs`: one compare-and-set per
   * outcome shard and one of the status per sweep, however many results arrived). Resolves once
   * they are recorded and counted, so a result is acked only then; if the count update fails
   * after the outcomes landed, the sweep is recounted from its outcome shards.
   */
  private recordLater(sweepId: string, total: number, outcomes: TrialOutcomeCode[]): Promise<void> {
    let batch = this.pendingOutcomes.get(sweepId);
    if (!batch) {
      batch = { total, outcomes: [], waiters: [] };
      this.pendingOutcomes.set(sweepId, batch);
    }
    batch.outcomes.push(...outcomes);
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    // Half the results the consumer holds at once waiting: write now rather than stall it; and
    // the results that may finish a sweep go at once (its client waits for the complete state).
    const mayFinish = (this.finished.get(sweepId) ?? 0) + batch.outcomes.length >= total;
    if (++this.pendingResults >= flushAtResults || mayFinish) {
      clearTimeout(this.countFlush);
      void this.flushOutcomes();
    } else this.countFlush ??= setTimeout(() => void this.flushOutcomes(), flushAfterMs);
    return done;
  }

  private async flushOutcomes(): Promise<void> {
    this.countFlush = undefined;
    this.pendingResults = 0;
    const batches = [...this.pendingOutcomes];
    this.pendingOutcomes.clear();
    await Promise.all(
      batches.map(([sweepId, b]) =>
        this.serially(sweepId, async () => {
          try {
            const fresh = await this.store.recordOutcomes(sweepId, b.total, b.outcomes);
            const deltas = { ok: 0, diverged: 0, failed: 0, cancelled: 0 };
            for (const o of fresh) deltas[countField(o.status)]++;
            const st =
              fresh.length === 0
                ? await this.store.status(sweepId)
                : await this.store.modify(sweepId, (s) => {
                    const c = (s.counts ??= v1.SweepCounts.create());
                    for (const f of ['ok', 'diverged', 'failed', 'cancelled'] as const)
                      c[f] = (c[f] ?? 0) + deltas[f];
                    s.updatedMs = Date.now();
                    if (
                      s.state === S.SWEEP_STATE_RUNNING &&
                      c.enqueued &&
                      finishedOf(c) >= (c.total ?? 0)
                    ) {
                      s.state = S.SWEEP_STATE_COMPLETE;
                      s.finishedMs = Date.now();
                    }
                    return s;
                  });
            for (const field of ['ok', 'diverged', 'failed', 'cancelled'] as const)
              if (deltas[field] > 0)
                this.metrics.trials.inc({ sweep: sweepId, outcome: field }, deltas[field]);
            if (st) {
              this.metrics.setSweepCounts(sweepId, countsOf(st));
              if (st.state === S.SWEEP_STATE_RUNNING)
                this.finished.set(sweepId, finishedOf(st.counts));
              else this.finished.delete(sweepId);
            }
            if (
              fresh.length > 0 &&
              st?.state === S.SWEEP_STATE_COMPLETE &&
              st.finishedMs &&
              Date.now() - st.finishedMs < 1000
            )
              this.log.info('sweep complete', { sweep: sweepId, counts: st.counts });
            for (const w of b.waiters) w.resolve();
          } catch (err) {
            for (const w of b.waiters) w.reject(err);
            // Some outcomes may be recorded (a shard written before a failure), and their redelivered
            // results will not count again: rebuild the counts from the shards (now, or later).
            await this.store.recount(sweepId).catch((e: unknown) => {
              this.recountLater.add(sweepId);
              this.log.warn('recount failed, will retry', {
                sweep: sweepId,
                error: (e as Error).message,
              });
            });
          }
        }),
      ),
    );
  }

  /**
   * Runs `fn` after the sweep's earlier work in this coordinator: a recount (absolute counts from
   * the shards) interleaved with a flush (shards, then count deltas) could count a trial twice
   * or not at all.
   */
  private serially<T>(sweepId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.sweepWork.get(sweepId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.sweepWork.set(sweepId, settled);
    void settled.then(() => {
      if (this.sweepWork.get(sweepId) === settled) this.sweepWork.delete(sweepId);
    });
    return next;
  }

  /** Rebuilds a sweep's counts from its outcome shards, in turn with its flushes. */
  private recount(sweepId: string): Promise<Status | null> {
    return this.serially(sweepId, () => this.store.recount(sweepId));
  }

  /** A dead-lettered job: its trials without an outcome become failed results, with the reason. */
  private async onDeadLetter(d: v1.DeadLetter): Promise<void> {
    if (!d.subject.startsWith('dynlab.v1.jobs.')) {
      this.log.warn('dead letter', { subject: d.subject, reason: d.reason });
      return;
    }
    let job: v1.Job;
    try {
      job = v1.Job.decode(d.payload);
    } catch {
      this.metrics.malformedMessages.inc({ kind: 'deadletter' });
      this.log.warn('undecodable job dead-lettered', { reason: d.reason });
      return;
    }
    const indices = jobTrialIndices(job);
    if (indices.length === 0 || indices.some((i) => i < 0) || !isToken(job.sweepId)) {
      this.metrics.malformedMessages.inc({ kind: 'deadletter' });
      this.log.warn('dead-lettered job without trials or sweep', { reason: d.reason });
      return;
    }
    this.metrics.jobsDeadLettered.inc();
    this.log.warn('job dead-lettered; its trials are marked failed', {
      job: job.jobId,
      sweep: job.sweepId,
      reason: d.reason,
    });
    const failed = v1.TrialStatus.TRIAL_STATUS_FAILED;
    await this.bus.publish(
      subjects.results(job.sweepId),
      v1.JobResult,
      jobResultToProto({
        sweepId: job.sweepId,
        jobId: job.jobId,
        instance: '',
        backend: '',
        wallS: 0,
        trials: indices.map((index) => ({
          index,
          status: failed,
          finalLoss: NaN,
          finalError: NaN,
          stepsDone: 0,
          telemetryChunks: 0,
          telemetryPoints: 0,
        })),
        jobError: {
          code: d.error?.code || ErrorCode.Unavailable,
          message: d.reason,
          retryable: false,
        },
      }),
      { msgId: `${job.jobId}:dead-letter` },
    );
  }

  // ---- recovery and metrics ---------------------------------------------------------------

  /** Finishes half-done enqueues and recounts running sweeps (a previous coordinator may have died mid-way). */
  private async recover(): Promise<void> {
    for (const id of await this.store.sweepIds()) {
      const st = await this.store.status(id);
      if (!st || st.state !== S.SWEEP_STATE_RUNNING) continue;
      if (!st.counts?.enqueued) {
        const specMsg = await this.store.spec(id);
        if (!specMsg) continue;
        const sweep = compileSweep(sweepFromProto(specMsg), this.opts.limits);
        const outcomes = await this.store.outcomesOf(id, sweep.trialCount);
        this.log.info('finishing an interrupted enqueue', { sweep: id });
        // Planned again exactly as submit or the resume planned it (same job ids, so the ones
        // already published are deduplicated), skipping jobs whose trials all have outcomes.
        const resumes = st.counts?.resumes ?? 0;
        // A resume that died before storing its plan had published none of its jobs: plan now.
        const plan = resumes
          ? ((await this.store.resumePlan(id, resumes, sweep.trialCount)) ??
            (await this.planResume(id, sweep, resumes)))
          : null;
        if (plan) await this.store.startRun(id, sweep.trialCount, resumes, plan); // idempotent
        // With the packing recorded before the first job was published, whatever version planned
        // it; where none was (an older coordinator, or a resume that died before it recorded one),
        // this version's choice, recorded now for whoever finishes after it.
        const opts = plan ? { jobPrefix: `${id}-r${resumes}`, only: plan } : {};
        const packing = await this.recordPacking(id, sweep, opts, resumes);
        if (packing) {
          const jobs = withUnfinished(planSweepJobs(sweep, id, { ...opts, packing }), outcomes);
          await this.enqueue(id, encodeJobs(id, jobs));
        } else this.log.info('resumed again meanwhile: that resume enqueues it', { sweep: id });
      }
      await this.recount(id);
    }
  }

  private async probeQueue(): Promise<void> {
    for (const id of [...this.recountLater])
      await this.recount(id).then(
        () => this.recountLater.delete(id),
        () => undefined,
      );
    try {
      const [stream, consumer] = await Promise.all([
        this.bus.jsm.streams.info(streams.jobs),
        this.bus.jsm.consumers.info(streams.jobs, consumers.trainers),
      ]);
      this.metrics.setJobQueue({
        depth: stream.state.messages,
        lag: consumer.num_pending,
        inFlight: consumer.num_ack_pending,
      });
      const byState: Record<string, number> = {};
      for (const id of await this.store.sweepIds()) {
        const st = await this.store.status(id);
        if (!st) continue;
        byState[stateLabel(st.state)] = (byState[stateLabel(st.state)] ?? 0) + 1;
        // From KV, so the progress panels are right after a restart (and agree across coordinators).
        this.metrics.setSweepCounts(id, countsOf(st));
      }
      this.metrics.setSweepStates(byState);
    } catch (err) {
      this.log.debug('queue probe failed', { error: (err as Error).message });
    }
  }
}
