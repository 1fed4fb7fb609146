/**
 * Jobs planned as runs of consecutive trials instead of lists of trials. A sweep of 20,000 trials
 * over four sweep points is four checked trials and 313 jobs of one or two runs each: planning,
 * encoding and checking a submit cost the same for 64 seeds as for 64,000, and no trial object is
 * built until a trainer runs it. The grouping is exactly `planJobs(expandSweep(...))`'s (same jobs,
 * same ids, same order), so a coordinator of either kind plans a sweep the same way.
 */
import {
  pointTrial,
  shapeKey,
  sweepPointTrials,
  type CompiledSweep,
  type SweepPoint,
} from './sweep';
import type { CompiledTrial } from './compiled-trial';

/** Consecutive trials of one sweep point (consecutive seed indices, so consecutive trial indices). */
export interface TrialRun {
  point: SweepPoint;
  /** Index in the sweep of the run's first trial. */
  firstIndex: number;
  firstSeedIndex: number;
  /** The run's seeds, one per trial. */
  seeds: number[];
}

/** A job as runs of trials. */
export interface JobPlan {
  jobId: string;
  shape: string;
  runs: TrialRun[];
  /** Trials in all runs. */
  trialCount: number;
}

/** Options of `planSweepJobs`. */
export interface PlanOptions {
  /** What job ids start with. @default the sweep id (a resume uses `<sweep>-r<n>`) */
  jobPrefix?: string;
  /** Only the trials marked here (by trial index) are planned: a resume's re-runs. */
  only?: Uint8Array;
}

/**
 * The sweep's jobs: trials grouped by shape, at most `population` per job, streaming (one open job
 * per shape). Points are built and checked as they are reached, so a point that combines into an
 * invalid trial throws its ValidationError then.
 */
export function* planSweepJobs(
  s: CompiledSweep,
  sweepId: string,
  opts: PlanOptions = {},
): Generator<JobPlan> {
  const prefix = opts.jobPrefix ?? sweepId;
  const only = opts.only;
  const seedCount = s.seeds.length;
  const open = new Map<string, Omit<JobPlan, 'jobId'>>();
  let n = 0;
  const named = (job: Omit<JobPlan, 'jobId'>): JobPlan => ({
    jobId: `${prefix}-j${String(n++).padStart(5, '0')}`,
    ...job,
  });
  for (const point of sweepPointTrials(s, sweepId)) {
    const base = point.index * seedCount;
    const marked = (k: number) => !only || only[base + k] === 1;
    let shape: string | undefined;
    for (let k = 0; k < seedCount; ) {
      if (!marked(k)) {
        k++;
        continue;
      }
      let end = k + 1;
      while (end < seedCount && marked(end)) end++;
      shape ??= shapeKey(point.first);
      while (k < end) {
        const existing = open.get(shape);
        const job = existing ?? { shape, runs: [], trialCount: 0 };
        const take = Math.min(s.population - job.trialCount, end - k);
        job.runs.push({
          point,
          firstIndex: base + k,
          firstSeedIndex: k,
          seeds: s.seeds.slice(k, k + take),
        });
        job.trialCount += take;
        k += take;
        if (job.trialCount >= s.population) {
          open.delete(shape);
          yield named(job);
        } else if (!existing) open.set(shape, job);
      }
    }
  }
  for (const job of open.values()) yield named(job);
}

/** The trials of a run, built from its point's first trial. */
export function runTrials(run: TrialRun, sweepId: string, seedCount: number): CompiledTrial[] {
  return run.seeds.map((seed, k) =>
    pointTrial(run.point, sweepId, seedCount, run.firstSeedIndex + k, seed),
  );
}
