/**
 * The backend seam: everything a backend must do to train a population of networks, and nothing
 * else. The runner (record schedule, telemetry chunks, divergence, cancellation, outcomes) is
 * written once over this interface; each backend family (tfjs for wasm/cpu/tensorflow, the native
 * BLAS addon) implements it once. It is deliberately small and synchronous-or-async so that a native
 * implementation can work on plain Float32Arrays without any tfjs types, and so that the runner can
 * yield to the event loop between calls (cancellation, heartbeats).
 *
 * Conventions every implementation follows (the tests check them on every backend):
 * - Trial p of the population is `trials[p]`; every per-trial output is trial-major (row p).
 * - "Step s" means the state after s optimizer steps; step 0 is the initial parameters.
 * - Measurements are taken on the full training set (never a minibatch), at the current parameters.
 * - A trial's numbers must not depend on the other trials of the population (float32, 1e-5 relative).
 * - Layer l's weights are row-major `[out, in]` = `[widths[l+1], widths[l]]`; biases `[out]`.
 *
 * The mathematics (identical on every backend; the tfjs program and the float64 reference are the
 * executable statement of it):
 * - Model: h_0 = x; h_{l+1} = act(W_l h_l + b_l) for hidden layers, f = W_{L-1} h_{L-1} + b_{L-1}
 *   (scalar). act is ReLU for `relu` models and the identity for `linear` and `deepLinear`.
 * - Per-sample loss with m = y f: logistic softplus(-m) = ln(1 + e^-m); hinge max(0, margin - m)
 *   (derivative -y where m < margin, else 0); squared (f - y)^2 / 2.
 * - Objective J = R(loss) + spectralDecoupling * R(f^2) + weightDecay/2 * sum of squares of every
 *   parameter (weights and biases), where R is the mean (or sum, by `loss.reduction`) over the
 *   samples of the batch. Frozen parameters (`model.trainable`, `model.biasTrainable`) never move.
 * - Optimizers (g = dJ/dtheta, t = 1, 2, ...): gd and sgd theta -= lr g; momentum v = mu v + g,
 *   theta -= lr v (v starts at 0); adam m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 *   theta -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). gd is always full-batch; sgd, momentum
 *   and adam use minibatches when 0 < batchSize < n, whose sample indices `batchIndices` gives.
 * - Divergence: state s (after s steps) is non-finite when a parameter is not finite, or the loss
 *   (equivalently, for finite parameters, an output f) computed at it is not finite.
 */
import type { CompiledTrial } from '@dynlab/spec';

/** A value or a promise of it: native programs answer synchronously, tfjs ones may not. */
export type MaybePromise<T> = T | Promise<T>;

/** A trial's training set as plain float32 arrays (built by `prepareData`, identical on every backend). */
export interface PreparedData {
  /** Inputs, `n x dim`, row-major. */
  x: Float32Array;
  /** Labels, `n` values in {-1, +1}. */
  y: Float32Array;
  n: number;
  dim: number;
}

/** A trial's initial parameters (built by `initParams`, identical on every backend). */
export interface InitialParams {
  /** Per layer, row-major `[widths[l+1], widths[l]]`. */
  weights: Float32Array[];
  /** Per layer, `[widths[l+1]]`; zeros when the model has no biases. */
  biases: Float32Array[];
}

/**
 * The recorded quantities of every trial at one state, trial-major. A quantity the trials do not
 * record (see `CompiledTrial.quantities`) is an empty array; a program may still fill `loss` and
 * `error` because the runner needs them for the outcome.
 */
export interface PopulationMeasurement {
  /** The step this state follows (number of optimizer steps applied). */
  step: number;
  /** Data loss per trial (mean or sum over the training set, as the trial's reduction says; regularizers not included), `P`. */
  loss: Float32Array;
  /** Training error per trial: the fraction of samples with y*f <= 0, `P`. */
  error: Float32Array;
  /**
   * Gradient share of the first layer, `P x D`: g_j = ||dJ/dW1[:, j]||^2 / sum_k ||dJ/dW1[:, k]||^2,
   * where J is the data loss plus spectral decoupling (weight decay left out: it says nothing about
   * features), over the full training set; the bias column is not a feature. All zeros when the
   * gradient is zero.
   */
  gradShare: Float32Array;
  /** Outputs f on each trial's own probe inputs, `P x probes`. */
  probeOutputs: Float32Array;
  /** Outputs f on the training points, `P x n`. */
  trainOutputs: Float32Array;
  /** Frobenius norm of each layer's weights and bias together, `P x layers`. */
  paramNorms: Float32Array;
  /**
   * Fraction of dead units per hidden layer, `P x (layers - 1)` (empty unless the model is `relu`):
   * a unit is dead when its pre-activation is <= 0 on every training sample.
   */
  deadUnits: Float32Array;
  /**
   * Per trial, the first step at which its parameters or its loss were not finite, or -1 while
   * they have stayed finite (this measurement's own values included).
   */
  divergedAt: Int32Array;
}

/**
 * One population of trials of one shape (`shapeKey` equal), compiled for one backend: it applies
 * optimizer steps to every trial at once and measures the recorded quantities.
 */
export interface PopulationProgram {
  /** Number of trials P. */
  readonly size: number;
  /** Optimizer steps applied so far (every trial advances together). */
  readonly stepsDone: number;
  /**
   * Applies `count` optimizer steps to every trial (full-batch GD, minibatch SGD, momentum or Adam,
   * as the trials say; learning rates and regularizer coefficients per trial). It checks every
   * step whether a trial's parameters (or the loss it computed on the way) stopped being finite and
   * keeps the first such step for `divergedAt`; a diverged trial may keep running on NaNs, and it
   * never disturbs the other trials.
   */
  advance(count: number): MaybePromise<void>;
  /**
   * Measures the recorded quantities at the current parameters (after `stepsDone` steps). An
   * implementation may keep the full-batch gradient it computed here for the next step when the
   * optimizer is full-batch (GD, momentum, Adam without minibatches), since it is the same.
   */
  measure(): MaybePromise<PopulationMeasurement>;
  /** Per trial, the first step with non-finite parameters or loss, or -1 (see `PopulationMeasurement.divergedAt`). */
  divergedAt(): MaybePromise<Int32Array>;
  /** Releases every buffer the program holds; the program is unusable afterwards. */
  dispose(): void;
}

/**
 * Builds a program for one backend family from the trials and their prepared data and initial
 * parameters (one entry per trial; trials that share data may share the same `PreparedData`
 * object, which lets a program fold them together).
 */
export type PopulationProgramFactory = (
  trials: readonly CompiledTrial[],
  data: readonly PreparedData[],
  params: readonly InitialParams[],
  helpers: ProgramHelpers,
) => PopulationProgram;

/** Pure-JS pieces of the mathematics that every backend must reproduce exactly, handed to the factory. */
export interface ProgramHelpers {
  /**
   * The training-set indices of the minibatch that trial `trial` uses at step `step` (0-based: the
   * step that turns state `step` into `step + 1`), `batchSize` of them; only called for minibatch
   * optimizers. Seeded by the trial's seed: an epoch is a seeded permutation cut into
   * floor(n / batchSize) consecutive batches (the remainder is dropped).
   */
  batchIndices(trial: number, step: number): Int32Array;
}

/** What `@dynlab/native` exports (loaded at run time, optional). */
export interface NativeModule {
  /** Whether the addon loaded and can run here (BLAS found, CPU supported), and why not. */
  nativeStatus(): { available: boolean; reason: string };
  createNativeProgram: PopulationProgramFactory;
}
