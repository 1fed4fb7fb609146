/**
 * `@dynlab/native`: the engine's native CPU backend (an N-API addon over the system CBLAS).
 * The engine loads it at run time with `require('@dynlab/native')` and uses `nativeStatus` and
 * `createNativeProgram`; the rest is for tests and the benchmark.
 */
export { nativeStatus, type NativeProfile } from './native-addon';
export { createNativeProgram, NativeProgram } from './native-program';
export {
  nativeConfig,
  defaultChunk,
  defaultThreads,
  minibatchSize,
  hyperRows,
} from './native-config';
export type { NativeData, NativeHelpers, NativeParams, NativeMeasurement } from './program-types';
