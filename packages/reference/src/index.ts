/**
 * `@dynlab/reference`: the trial mathematics in float64, written for clarity, as the independent
 * reference every backend (tfjs, native) is checked against. Depends on `@dynlab/spec` for types only.
 */
export { runReference, usesMinibatches, type ReferenceMeasurement } from './run-reference';
export {
  objective,
  output,
  deadUnits,
  toFloat64,
  zerosLike,
  row,
  type Objective,
  type ReferenceData,
  type ReferenceParams,
} from './reference-network';
export { lossValue, lossDerivative } from './reference-loss';
export { applyUpdate, slotState, type SlotState } from './reference-optimizer';
export { epochOrder, batchRows } from './reference-minibatch';
