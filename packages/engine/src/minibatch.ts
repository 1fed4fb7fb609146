/**
 * Minibatch order for the stochastic optimizers, in pure JS so every backend draws the same
 * batches. Epoch e is a permutation of the training set from the stream (trial seed, `batches`, e),
 * cut into floor(n / batchSize) consecutive batches (the remainder is dropped, so every batch has the
 * same size and the program keeps one shape). Any step's batch is found without replaying the
 * earlier ones.
 */
import type { CompiledTrial } from '@dynlab/spec';
import { stream } from './rng';

/** Whether the trial trains on minibatches (sgd, momentum, adam with 0 < batchSize < n; gd never). */
export function usesMinibatches(trial: CompiledTrial): boolean {
  const b = trial.optimizer.batchSize;
  return trial.optimizer.kind !== 'gd' && b > 0 && b < trial.data.n;
}

/** The batch of each step of a trial: `at(step)` gives the sample indices step `step` trains on. */
export function minibatchSchedule(trial: CompiledTrial): { at(step: number): Int32Array } {
  const n = trial.data.n;
  const b = trial.optimizer.batchSize;
  const perEpoch = Math.floor(n / b);
  let epoch = -1;
  let perm: Int32Array = new Int32Array(0);
  return {
    at(step: number): Int32Array {
      const e = Math.floor(step / perEpoch);
      if (e !== epoch) {
        perm = stream(trial.seed, 'batches', e).permutation(n);
        epoch = e;
      }
      const k = step % perEpoch;
      return perm.slice(k * b, (k + 1) * b);
    },
  };
}
