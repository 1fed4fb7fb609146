export * from './dynlab-client';
