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
  /**
   * Trials per population: the job runs its trials as consecutive populations of this many (the
   * sweep's population; a job of tiny trials holds several, see `populationsPerJob`).
   */
  population: number;
}

/** Options of `planSweepJobs`. */
export interface PlanOptions {
  /** What job ids start with. @default the sweep id (a resume uses `<sweep>-r<n>`) */
  jobPrefix?: string;
  /** Only the trials marked here (by trial index) are planned: a resume's re-runs. */
  only?: Uint8Array;
  /** Populations per job, for every shape. @default the sweep's, else `populationsPerJob` per shape */
  populationsPerJob?: number;
  /**
   * Populations per job of each shape, in the order the shapes first appear among the planned
   * trials, as an earlier plan of the same trials recorded them (`record`): the plan is then that
   * plan, whatever this version would choose. Shapes past its end get the default.
   */
  packing?: readonly number[];
  /** Receives the populations per job chosen for each shape, in that order, as shapes appear. */
  record?: number[];
}

/**
 * Work of one job that makes its fixed cost small: about 30 ms of one core here, in `stepWork`'s
 * units. A job costs about 1.4 ms of CPU wherever it is not computed (coordinator, nats-server,
 * the trainer's main thread: messages, acks, a worker task), against 7 ms of computing for 64
 * trials of 40 steps on a 16-point, 4-unit network: such jobs lost a fifth of the throughput.
 */
const jobWork = 5e7;
/** Most populations in one job. */
const maxPopulationsPerJob = 16;
/** A sweep is split into at least this many jobs where it has the populations, so it spreads. */
const minJobs = 32;

/** Multiply-adds of one network-step, plus a floor for what every step costs (recording, loops). */
function stepWork(t: CompiledTrial): number {
  const rows = t.optimizer.batchSize > 0 ? t.optimizer.batchSize : t.data.n;
  const params = t.widths.slice(1).reduce((acc, w, i) => acc + w * (t.widths[i]! + 1), 0);
  return rows * params + 4000;
}

/**
 * How many populations of trials of this shape one job holds: one, unless a population's work is
 * small enough that the job's fixed cost would weigh (see `jobWork`); never so many that a sweep of
 * `populations` populations has fewer than `minJobs` jobs. A job of several populations runs them
 * one after another in one worker, so its memory is one population's.
 */
export function populationsPerJob(t: CompiledTrial, population: number, populations: number) {
  const byWork = Math.floor(jobWork / (population * t.steps * stepWork(t)));
  const bySpread = Math.floor(populations / minJobs);
  return Math.max(1, Math.min(maxPopulationsPerJob, byWork, bySpread));
}

/**
 * The sweep's jobs: trials grouped by shape, at most `population` times the shape's
 * `populationsPerJob` per job, streaming (one open job per shape). Points are built and checked as
 * they are reached, so a point that combines into an invalid trial throws its ValidationError then.
 */
export function* planSweepJobs(
  s: CompiledSweep,
  sweepId: string,
  opts: PlanOptions = {},
): Generator<JobPlan> {
  const prefix = opts.jobPrefix ?? sweepId;
  const only = opts.only;
  const seedCount = s.seeds.length;
  let planned = s.trialCount;
  if (only) {
    planned = 0;
    for (let i = 0; i < only.length; i++) planned += only[i] === 1 ? 1 : 0;
  }
  const populations = Math.ceil(planned / s.population);
  /** Trials per job, by shape. */
  const capacity = new Map<string, number>();
  const open = new Map<string, Omit<JobPlan, 'jobId'>>();
  let n = 0;
  let shapes = 0;
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
      let cap = capacity.get(shape);
      if (cap === undefined) {
        const per = Math.max(
          1,
          Math.floor(
            opts.packing?.[shapes] ??
              opts.populationsPerJob ??
              s.populationsPerJob ??
              populationsPerJob(point.first, s.population, populations),
          ),
        );
        shapes++;
        opts.record?.push(per);
        capacity.set(shape, (cap = s.population * per));
      }
      while (k < end) {
        const existing = open.get(shape);
        const job = existing ?? { shape, runs: [], trialCount: 0, population: s.population };
        const take = Math.min(cap - job.trialCount, end - k);
        job.runs.push({
          point,
          firstIndex: base + k,
          firstSeedIndex: k,
          seeds: s.seeds.slice(k, k + take),
        });
        job.trialCount += take;
        k += take;
        if (job.trialCount >= cap) {
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
