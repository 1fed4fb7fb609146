/**
 * The optimizers in float64: one update of one parameter array, with weight decay.
 *
 * Conventions (the ones every backend follows): weight decay is the L2 term lambda/2 ||theta||^2
 * of the objective, so its gradient lambda * theta is added to the data gradient before the
 * optimizer sees it (also under Adam); momentum keeps v <- mu v + g and steps theta -= lr v
 * (no dampening); Adam keeps m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2 and steps
 * theta -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t = 1 at the first step.
 * Plain SGD is GD on the minibatch gradient.
 */
import type { CompiledTrial } from '@dynlab/spec';

/** Optimizer state of one parameter array. */
export interface SlotState {
  m: Float64Array;
  v: Float64Array;
}

/** Fresh state for a parameter array of `n` values. */
export function slotState(n: number): SlotState {
  return { m: new Float64Array(n), v: new Float64Array(n) };
}

/** Applies one step (the `step`-th, counting from 0) to `theta` in place. */
export function applyUpdate(
  trial: CompiledTrial,
  theta: Float64Array,
  gradient: Float64Array,
  state: SlotState,
  step: number,
): void {
  const o = trial.optimizer;
  const lambda = trial.regularizer.weightDecay;
  const t = step + 1;
  for (let i = 0; i < theta.length; i++) {
    const g = gradient[i]! + lambda * theta[i]!;
    switch (o.kind) {
      case 'gd':
      case 'sgd':
        theta[i] = theta[i]! - o.learningRate * g;
        break;
      case 'momentum':
        state.m[i] = o.momentum * state.m[i]! + g;
        theta[i] = theta[i]! - o.learningRate * state.m[i]!;
        break;
      case 'adam': {
        state.m[i] = o.beta1 * state.m[i]! + (1 - o.beta1) * g;
        state.v[i] = o.beta2 * state.v[i]! + (1 - o.beta2) * g * g;
        const mHat = state.m[i]! / (1 - o.beta1 ** t);
        const vHat = state.v[i]! / (1 - o.beta2 ** t);
        theta[i] = theta[i]! - (o.learningRate * mHat) / (Math.sqrt(vHat) + o.epsilon);
        break;
      }
    }
  }
}
