/**
 * Sweep specs small enough that hundreds of trials run in seconds on two cores, so that a fault
 * test spends its time on the fault, not on training. Every trial is a two-feature ReLU net on 16
 * points; `steps` and `population` set how long a job runs and how many jobs there are.
 */

/** Options of `tinySweep`. */
export interface TinySweepOptions {
  /** Trials in the sweep (a multiple of 4: four learning rates times trials/4 seeds). */
  trials: number;
  /** @default 40 */
  steps?: number;
  /** Trials per population. @default 4 */
  population?: number;
  /**
   * Populations per job. @default the planner's choice (one, except for sweeps of many short
   * trials: a job of 4 trials of 10 steps is far too little work to be sent alone)
   */
  populationsPerJob?: number;
  /** Recorded points per trial. @default 12 */
  logPoints?: number;
  /** @default 'tiny' */
  name?: string;
}

/** A grid over four learning rates times `trials / 4` seeds, all of one shape. */
export function tinySweep(o: TinySweepOptions): Record<string, unknown> {
  if (o.trials % 4 !== 0 || o.trials <= 0)
    throw new RangeError(`trials must be a positive multiple of 4, got ${o.trials}`);
  return {
    name: o.name ?? 'tiny',
    base: {
      data: { features: { n: 16, features: [{ frequency: 1 }, { frequency: 0.5 }] } },
      model: { kind: 'relu', hidden: [4] },
      steps: o.steps ?? 40,
      record: { logPoints: o.logPoints ?? 12 },
    },
    axes: [{ path: 'optimizer.learningRate', values: [0.1, 0.2, 0.3, 0.4] }],
    seeds: o.trials / 4,
    population: o.population ?? 4,
    ...(o.populationsPerJob !== undefined && { populationsPerJob: o.populationsPerJob }),
  };
}
