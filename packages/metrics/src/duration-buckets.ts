/**
 * Histogram bucket bounds, in seconds, per kind of duration. Chosen once here so that every
 * histogram of one kind aggregates with the others and the dashboards' quantiles mean the same
 * thing everywhere. Bounds span what each operation takes on a laptop and on a busy cluster.
 */

/** A request answered by a service (submit: validate, expand, enqueue). */
export const requestBuckets: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** A training job: one population of trials, from milliseconds (tiny nets) to many minutes. */
export const jobBuckets: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 600, 1800,
];

/** Time a job waits for a free worker of the pool. */
export const waitBuckets: readonly number[] = [
  0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300,
];

/** One analyzer hook call (a telemetry chunk, a finished trial, a finished sweep). */
export const hookBuckets: readonly number[] = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30,
];
