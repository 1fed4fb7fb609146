/**
 * Sweep state in the JetStream KV bucket. Keys:
 * - `sweep.<id>`: the SweepStatus (state and counts), changed only by compare-and-set;
 * - `spec.<id>`: the SweepSpec as submitted (the authoritative copy analyzers and resume read);
 * - `outcomes.<id>.<shard>`: the recorded status of each trial, one byte per trial in shards of
 *   `outcomeShardSize` trials (16,384), changed only by compare-and-set. Setting a trial's byte once is what
 *   makes recording it idempotent (a redelivered or duplicated result finds it set and is ignored),
 *   and one write records every trial of a batch of results in the shard: a sweep of tiny trials
 *   costs one KV write per shard per flush, not one per trial.
 * - `resume.<id>.<n>.<shard>`: the trials resume number n re-runs, stored before its enqueue, so a
 *   coordinator that dies mid-way plans the same jobs again (same ids, deduplicated);
 * Counts in the status are a cache of the outcome shards; `recount` rebuilds them (at start-up,
 * so a coordinator that died between recording outcomes and counting them loses nothing).
 */
import {
  ConflictError,
  TypedKv,
  buckets,
  outcomeShardSize,
  sweepKeys,
  type Bus,
} from '@dynlab/bus';
import { v1 } from '@dynlab/proto';

export type Status = v1.SweepStatus;

const statusKey = sweepKeys.status;
const specKey = sweepKeys.spec;
const outcomeKey = sweepKeys.outcomes;
const findingKey = sweepKeys.finding;

/** Which count a trial status goes to. */
export function countField(status: v1.TrialStatus): 'ok' | 'diverged' | 'failed' | 'cancelled' {
  switch (status) {
    case v1.TrialStatus.TRIAL_STATUS_OK:
      return 'ok';
    case v1.TrialStatus.TRIAL_STATUS_DIVERGED:
      return 'diverged';
    case v1.TrialStatus.TRIAL_STATUS_CANCELLED:
      return 'cancelled';
    default:
      return 'failed';
  }
}

export function finishedOf(c: v1.ISweepCounts | null | undefined): number {
  return (c?.ok ?? 0) + (c?.diverged ?? 0) + (c?.failed ?? 0) + (c?.cancelled ?? 0);
}

export class SweepStore {
  private constructor(
    private readonly statuses: TypedKv<v1.SweepStatus>,
    private readonly specs: TypedKv<v1.SweepSpec>,
    private readonly outcomes: TypedKv<v1.OutcomeShard>,
    private readonly findings: TypedKv<v1.Finding>,
  ) {}

  static async open(bus: Bus): Promise<SweepStore> {
    return new SweepStore(
      await TypedKv.open(bus, buckets.sweeps, v1.SweepStatus),
      await TypedKv.open(bus, buckets.sweeps, v1.SweepSpec),
      await TypedKv.open(bus, buckets.sweeps, v1.OutcomeShard),
      await TypedKv.open(bus, buckets.sweeps, v1.Finding),
    );
  }

  async status(id: string): Promise<Status | null> {
    return (await this.statuses.get(statusKey(id)))?.value ?? null;
  }

  async spec(id: string): Promise<v1.SweepSpec | null> {
    return (await this.specs.get(specKey(id)))?.value ?? null;
  }

  /** Records a new sweep; false when the id exists (an idempotent re-submit). */
  async create(status: v1.ISweepStatus, spec: v1.ISweepSpec): Promise<boolean> {
    try {
      await this.statuses.create(statusKey(status.sweepId!), status as Record<string, unknown>);
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
    await this.specs.put(specKey(status.sweepId!), spec as Record<string, unknown>);
    return true;
  }

  /** Compare-and-set update of a sweep's status; null when the sweep does not exist. */
  async modify(id: string, fn: (s: Status) => Status | undefined): Promise<Status | null> {
    return this.statuses.modify(statusKey(id), (cur) =>
      cur ? fn(v1.SweepStatus.fromObject(v1.SweepStatus.toObject(cur))) : undefined,
    );
  }

  /**
   * Records outcomes (trial index and status) once each: returns those that were not recorded
   * before, in one compare-and-set per shard touched. A conflicting writer (another coordinator)
   * makes the shard be re-read and the batch applied again, so nothing counts twice.
   */
  async recordOutcomes(
    id: string,
    total: number,
    outcomes: readonly TrialOutcomeCode[],
  ): Promise<TrialOutcomeCode[]> {
    const byShard = new Map<number, TrialOutcomeCode[]>();
    for (const o of outcomes) {
      const shard = Math.floor(o.index / outcomeShardSize);
      const list = byShard.get(shard) ?? [];
      list.push(o);
      byShard.set(shard, list);
    }
    const recorded: TrialOutcomeCode[] = [];
    await Promise.all(
      [...byShard].map(async ([shard, list]) => {
        let fresh: TrialOutcomeCode[] = [];
        await this.outcomes.modify(outcomeKey(id, shard), (cur) => {
          const statuses = shardBytes(cur, shard, total);
          const run = cur?.run ?? 0;
          fresh = [];
          for (const o of list) {
            const at = o.index - shard * outcomeShardSize;
            if (statuses[at] !== 0) continue;
            // A run stopped by a cancel that a resume has since re-planned: its late `cancelled`
            // results must not take the bytes the resume's own results are to set.
            if (o.status === v1.TrialStatus.TRIAL_STATUS_CANCELLED && o.run < run) continue;
            statuses[at] = o.status;
            fresh.push(o);
          }
          return fresh.length > 0 ? { first: shard * outcomeShardSize, statuses, run } : undefined;
        });
        recorded.push(...fresh);
      }),
    );
    return recorded;
  }

  /** Records a finding once; false when seen before. */
  async recordFinding(f: v1.IFinding): Promise<boolean> {
    try {
      await this.findings.create(findingKey(f.sweepId!, f.findingId!), {
        findingId: f.findingId,
        kind: f.kind,
      });
      return true;
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
  }

  /** The recorded status of every trial of a sweep of `total` trials, by trial index (0: none yet). */
  async outcomesOf(id: string, total: number): Promise<Uint8Array> {
    const out = new Uint8Array(total);
    const shards = Math.ceil(total / outcomeShardSize);
    await Promise.all(
      Array.from({ length: shards }, async (_, shard) => {
        const cur = await this.outcomes.get(outcomeKey(id, shard));
        if (cur) out.set(shardBytes(cur.value, shard, total), shard * outcomeShardSize);
      }),
    );
    return out;
  }

  /**
   * Stores which trials (1 by index) resume number `resume` re-runs, before it enqueues any, and
   * returns the plan as stored: a shard already stored (by another coordinator planning the same
   * resume from outcomes read at another moment, or by one that died part way) is kept, so that
   * every coordinator finishing the resume plans the same jobs.
   */
  async saveResumePlan(id: string, resume: number, rerun: Uint8Array): Promise<Uint8Array> {
    for (let first = 0; first < rerun.length; first += outcomeShardSize)
      await this.outcomes
        .create(sweepKeys.resumePlan(id, resume, first / outcomeShardSize), {
          first,
          statuses: rerun.subarray(first, first + outcomeShardSize),
        })
        .catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err;
        });
    return (await this.resumePlan(id, resume, rerun.length))!;
  }

  /** The trials resume number `resume` re-runs; null when it stored no plan. */
  async resumePlan(id: string, resume: number, total: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(total);
    for (let shard = 0; shard * outcomeShardSize < total; shard++) {
      const cur = await this.outcomes.get(sweepKeys.resumePlan(id, resume, shard));
      if (!cur) return null;
      out.set(shardBytes(cur.value, shard, total), shard * outcomeShardSize);
    }
    return out;
  }

  /**
   * Starts run `run` (a resume) in every shard: clears the `cancelled` outcomes of the trials it
   * re-runs (`rerun`, 1 by index), also those recorded since the plan was made, and from then on
   * refuses `cancelled` outcomes from jobs of earlier runs (each shard's compare-and-set orders
   * this against concurrent recording).
   */
  async startRun(id: string, total: number, run: number, rerun: Uint8Array): Promise<void> {
    for (let shard = 0; shard * outcomeShardSize < total; shard++)
      await this.outcomes.modify(outcomeKey(id, shard), (cur) => {
        const statuses = shardBytes(cur, shard, total);
        const first = shard * outcomeShardSize;
        statuses.forEach((s, i) => {
          if (s === v1.TrialStatus.TRIAL_STATUS_CANCELLED && rerun[first + i]) statuses[i] = 0;
        });
        return { first, statuses, run };
      });
  }

  async sweepIds(): Promise<string[]> {
    return (await this.statuses.keys('sweep.*')).map((k) => k.slice('sweep.'.length));
  }

  /** Rebuilds the counts from the outcome keys (and completes the sweep when every trial has one). */
  async recount(id: string): Promise<Status | null> {
    const total = (await this.status(id))?.counts?.total ?? 0;
    const outcomes = await this.outcomesOf(id, total);
    const counts = { ok: 0, diverged: 0, failed: 0, cancelled: 0 };
    for (const s of outcomes) if (s !== 0) counts[countField(s)]++;
    return this.modify(id, (st) => {
      Object.assign((st.counts ??= v1.SweepCounts.create()), counts);
      if (
        st.state === v1.SweepState.SWEEP_STATE_RUNNING &&
        finishedOf(st.counts) >= (st.counts.total ?? 0) &&
        st.counts.enqueued
      ) {
        st.state = v1.SweepState.SWEEP_STATE_COMPLETE;
        st.finishedMs = Date.now();
      }
      return st;
    });
  }
}

/** A trial's index in its sweep and the status its result reports. */
export interface TrialOutcomeCode {
  index: number;
  status: v1.TrialStatus;
  /** The sweep run of the job that produced it (0, or the resume number). */
  run: number;
}

/** The run a job belongs to, from its id (`<sweep>-j…` is run 0, `<sweep>-r<n>-j…` run n). */
export function runOfJob(jobId: string): number {
  const m = /-r(\d+)-j\d+$/.exec(jobId);
  return m ? Number(m[1]) : 0;
}

/** A shard's bytes, sized to the trials it holds (a copy: the caller may change it). */
function shardBytes(cur: v1.OutcomeShard | null, shard: number, total: number): Uint8Array {
  const size = Math.max(0, Math.min(outcomeShardSize, total - shard * outcomeShardSize));
  const out = new Uint8Array(size);
  if (cur?.statuses) out.set(cur.statuses.subarray(0, size));
  return out;
}
