/**
 * The generated protobuf classes of `proto/dynlab/v1` (package `dynlab.v1`) and the codec.
 * Only this package imports protobufjs.
 */
import { dynlab } from '../generated/dynlab';

export import v1 = dynlab.v1;
export * from './codec';
export * from './telemetry-encoder';
