export * from './repo-paths';
export * from './promtool';
export * from './promql-names';
export * from './prometheus-server';
