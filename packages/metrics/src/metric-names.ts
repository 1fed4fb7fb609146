/**
 * Every metric name dynlab exports, in one file, so that dashboards, alert rules and services
 * agree on one vocabulary and a test can check that every name a dashboard or a rule uses exists.
 * Names follow `dynlab_<service>_<thing>_<unit>`: counters end in `_total`, durations are
 * histograms in `_seconds`, sizes are `_bytes`, ratios `_ratio`; plain counts of things in a gauge
 * carry no unit. The type sits beside each name because a histogram is scraped as three series
 * (`_bucket`, `_sum`, `_count`) and the name check must know which names those are.
 */

/** The kind of a Prometheus metric as dynlab uses it (never summaries: histograms aggregate). */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Metric names shared by every service. */
export const SharedMetricNames = {
  /** Always 1; labels carry the version and runtime, default labels the service and instance. */
  buildInfo: 'dynlab_build_info',
  /** 1 while the service's readiness callback says ready (NATS connected...), else 0. */
  serviceReady: 'dynlab_service_ready',
} as const;

/** Metric names of the coordinator. */
export const CoordinatorMetricNames = {
  sweeps: 'dynlab_coordinator_sweeps',
  sweepTrials: 'dynlab_coordinator_sweep_trials',
  sweepTrialsFinished: 'dynlab_coordinator_sweep_trials_finished',
  trials: 'dynlab_coordinator_trials_total',
  jobsPublished: 'dynlab_coordinator_jobs_published_total',
  jobsQueueDepth: 'dynlab_coordinator_jobs_queue_depth',
  jobsConsumerLag: 'dynlab_coordinator_jobs_consumer_lag',
  jobsInFlight: 'dynlab_coordinator_jobs_in_flight',
  jobsDeadLettered: 'dynlab_coordinator_jobs_dead_lettered_total',
  submitDuration: 'dynlab_coordinator_submit_duration_seconds',
  validationRejections: 'dynlab_coordinator_validation_rejections_total',
  malformedMessages: 'dynlab_coordinator_malformed_messages_total',
} as const;

/** Metric names of the trainer. */
export const TrainerMetricNames = {
  jobs: 'dynlab_trainer_jobs_total',
  trials: 'dynlab_trainer_trials_total',
  networkSteps: 'dynlab_trainer_network_steps_total',
  populations: 'dynlab_trainer_populations_total',
  jobDuration: 'dynlab_trainer_job_duration_seconds',
  workerWait: 'dynlab_trainer_worker_wait_seconds',
  poolUtilization: 'dynlab_trainer_pool_utilization_ratio',
  poolQueue: 'dynlab_trainer_pool_queue_tasks',
  poolThreads: 'dynlab_trainer_pool_threads',
  backendInfo: 'dynlab_trainer_backend_info',
  heartbeatFailures: 'dynlab_trainer_heartbeat_failures_total',
  redeliveries: 'dynlab_trainer_redeliveries_total',
  telemetryChunks: 'dynlab_trainer_telemetry_chunks_published_total',
  telemetryBytes: 'dynlab_trainer_telemetry_published_bytes_total',
  malformedMessages: 'dynlab_trainer_malformed_messages_total',
} as const;

/** Metric names of the analyzer service and of the analyzer plugins it hosts. */
export const AnalyzerMetricNames = {
  telemetryChunks: 'dynlab_analyzer_telemetry_chunks_total',
  results: 'dynlab_analyzer_results_total',
  consumerLag: 'dynlab_analyzer_consumer_lag',
  findings: 'dynlab_analyzer_findings_total',
  errors: 'dynlab_analyzer_errors_total',
  processingDuration: 'dynlab_analyzer_processing_seconds',
  malformedMessages: 'dynlab_analyzer_malformed_messages_total',
} as const;

/** Every dynlab metric name with its type. */
export const metricTypes: Readonly<Record<string, MetricType>> = {
  [SharedMetricNames.buildInfo]: 'gauge',
  [SharedMetricNames.serviceReady]: 'gauge',

  [CoordinatorMetricNames.sweeps]: 'gauge',
  [CoordinatorMetricNames.sweepTrials]: 'gauge',
  [CoordinatorMetricNames.sweepTrialsFinished]: 'gauge',
  [CoordinatorMetricNames.trials]: 'counter',
  [CoordinatorMetricNames.jobsPublished]: 'counter',
  [CoordinatorMetricNames.jobsQueueDepth]: 'gauge',
  [CoordinatorMetricNames.jobsConsumerLag]: 'gauge',
  [CoordinatorMetricNames.jobsInFlight]: 'gauge',
  [CoordinatorMetricNames.jobsDeadLettered]: 'counter',
  [CoordinatorMetricNames.submitDuration]: 'histogram',
  [CoordinatorMetricNames.validationRejections]: 'counter',
  [CoordinatorMetricNames.malformedMessages]: 'counter',

  [TrainerMetricNames.jobs]: 'counter',
  [TrainerMetricNames.trials]: 'counter',
  [TrainerMetricNames.networkSteps]: 'counter',
  [TrainerMetricNames.populations]: 'counter',
  [TrainerMetricNames.jobDuration]: 'histogram',
  [TrainerMetricNames.workerWait]: 'histogram',
  [TrainerMetricNames.poolUtilization]: 'gauge',
  [TrainerMetricNames.poolQueue]: 'gauge',
  [TrainerMetricNames.poolThreads]: 'gauge',
  [TrainerMetricNames.backendInfo]: 'gauge',
  [TrainerMetricNames.heartbeatFailures]: 'counter',
  [TrainerMetricNames.redeliveries]: 'counter',
  [TrainerMetricNames.telemetryChunks]: 'counter',
  [TrainerMetricNames.telemetryBytes]: 'counter',
  [TrainerMetricNames.malformedMessages]: 'counter',

  [AnalyzerMetricNames.telemetryChunks]: 'counter',
  [AnalyzerMetricNames.results]: 'counter',
  [AnalyzerMetricNames.consumerLag]: 'gauge',
  [AnalyzerMetricNames.findings]: 'counter',
  [AnalyzerMetricNames.errors]: 'counter',
  [AnalyzerMetricNames.processingDuration]: 'histogram',
  [AnalyzerMetricNames.malformedMessages]: 'counter',
};

/**
 * Every series name a scrape of a dynlab service can carry under the `dynlab_` prefix: the
 * counter and gauge names, and `_bucket`, `_sum`, `_count` for each histogram.
 */
export function dynlabSeriesNames(): Set<string> {
  const out = new Set<string>();
  for (const [name, type] of Object.entries(metricTypes)) {
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) out.add(name + suffix);
    else out.add(name);
  }
  return out;
}
