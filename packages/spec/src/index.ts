export * from './trial-schema';
export * from './compiled-trial';
export * from './sweep';
export * from './wire';
export * from './load';
export * from './paths';
export * from './telemetry';
export * from './finding';
