export * from './service-process';
export * from './local-cluster';
