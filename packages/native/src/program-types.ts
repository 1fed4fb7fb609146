/**
 * The shapes the native program exchanges with the engine, declared here structurally.
 *
 * Why not imported: `@dynlab/engine` loads this package at run time (an optional backend), so this
 * package must not depend on the engine to build. These mirror the engine's `PreparedData`,
 * `InitialParams` and `PopulationMeasurement` (packages/engine/src/population-program.ts), and a
 * test assigns this package's exports to the engine's `NativeModule` type so any drift fails to
 * compile.
 */

/** A trial's training set: `x` is `n x dim` row-major, `y` holds `n` labels in {-1, +1}. */
export interface NativeData {
  x: Float32Array;
  y: Float32Array;
  n: number;
  dim: number;
}

/** A trial's initial parameters: per layer, weights row-major `[out, in]` and biases `[out]`. */
export interface NativeParams {
  weights: Float32Array[];
  biases: Float32Array[];
}

/** The engine's pure-JS helpers handed to a program factory (the minibatch order). */
export interface NativeHelpers {
  batchIndices(trial: number, step: number): Int32Array;
}

/** The recorded quantities of every trial at one state, trial-major (empty when not recorded). */
export interface NativeMeasurement {
  step: number;
  loss: Float32Array;
  error: Float32Array;
  gradShare: Float32Array;
  probeOutputs: Float32Array;
  trainOutputs: Float32Array;
  paramNorms: Float32Array;
  deadUnits: Float32Array;
  divergedAt: Int32Array;
}
