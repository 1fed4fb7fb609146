export * from './trainer-service';
export * from './trainer-definition';
export type { JobTask, JobTaskResult, JobWorkerMessage } from './job-worker';
