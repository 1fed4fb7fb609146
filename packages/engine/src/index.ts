/**
 * @dynlab/engine: trial specs in, recorded training trajectories out. Trials of one shape run
 * together as one population on the best backend this thread has (see `backend.ts`); the model
 * mathematics sits behind `PopulationProgram`, one implementation per backend family.
 */
export { initBackend, backendNames, type BackendInfo, type BackendName } from './backend';
export {
  runPopulation,
  runTrial,
  type PopulationResult,
  type RunPopulationOptions,
} from './run-population';
export { prepareData } from './prepare-data';
export { initParams } from './init-params';
export { recordSteps } from './record-steps';
export { minibatchSchedule, usesMinibatches } from './minibatch';
export type {
  InitialParams,
  MaybePromise,
  NativeModule,
  PopulationMeasurement,
  PopulationProgram,
  PopulationProgramFactory,
  PreparedData,
  ProgramHelpers,
} from './population-program';
export type {
  PopulationTask,
  PopulationTaskResult,
  PopulationWorkerMessage,
} from './population-worker';
export { populationWorkerPath } from './worker-path';
export * as theory from './theory';
