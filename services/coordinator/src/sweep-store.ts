/**
 * Sweep state in the JetStream KV bucket. Keys:
 * - `sweep.<id>`: the SweepStatus (state and counts), changed only by compare-and-set;
 * - `spec.<id>`: the SweepSpec as submitted (the authoritative copy analyzers and resume read);
 * - `outcome.<id>.<trialId>`: one per trial, created once: the create is what makes recording a
 *   trial idempotent (a redelivered or duplicated result finds the key and is ignored).
 * Counts in the status are a cache of the outcome keys; `recount` rebuilds them (at start-up,
 * so a coordinator that died between recording an outcome and counting it loses nothing).
 */
import { ConflictError, TypedKv, buckets, type Bus } from '@dynlab/bus';
import { v1 } from '@dynlab/proto';

export type Status = v1.SweepStatus;

const statusKey = (id: string) => `sweep.${id}`;
const specKey = (id: string) => `spec.${id}`;
const outcomeKey = (id: string, trial: string) => `outcome.${id}.${trial}`;
const findingKey = (id: string, finding: string) => `finding.${id}.${finding}`;

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
    private readonly outcomes: TypedKv<v1.TrialResult>,
    private readonly findings: TypedKv<v1.Finding>,
  ) {}

  static async open(bus: Bus): Promise<SweepStore> {
    return new SweepStore(
      await TypedKv.open(bus, buckets.sweeps, v1.SweepStatus),
      await TypedKv.open(bus, buckets.sweeps, v1.SweepSpec),
      await TypedKv.open(bus, buckets.sweeps, v1.TrialResult),
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

  /** Records a trial's outcome once; false when it was recorded before. */
  async recordOutcome(result: v1.ITrialResult): Promise<boolean> {
    const slim = {
      sweepId: result.sweepId,
      trialId: result.trialId,
      status: result.status,
      error: result.error ?? null,
    };
    try {
      await this.outcomes.create(outcomeKey(result.sweepId!, result.trialId!), slim);
      return true;
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
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

  /** Every recorded outcome of a sweep, by trial id. */
  async outcomesOf(id: string): Promise<Map<string, v1.TrialStatus>> {
    const out = new Map<string, v1.TrialStatus>();
    for (const key of await this.outcomes.keys(outcomeKey(id, '*'))) {
      const v = await this.outcomes.get(key);
      if (v) out.set(key.slice(outcomeKey(id, '').length), v.value.status);
    }
    return out;
  }

  async forgetOutcome(id: string, trial: string): Promise<void> {
    await this.outcomes.delete(outcomeKey(id, trial));
  }

  async sweepIds(): Promise<string[]> {
    return (await this.statuses.keys('sweep.*')).map((k) => k.slice('sweep.'.length));
  }

  /** Rebuilds the counts from the outcome keys (and completes the sweep when every trial has one). */
  async recount(id: string): Promise<Status | null> {
    const outcomes = await this.outcomesOf(id);
    const counts = { ok: 0, diverged: 0, failed: 0, cancelled: 0 };
    for (const s of outcomes.values()) counts[countField(s)]++;
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
