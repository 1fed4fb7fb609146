/**
 * @dynlab/report: a sweep's results as files an analyst loads into pandas or polars (CSV,
 * Parquet, JSON lines) and as one self-contained HTML report with server-rendered SVG plots.
 */
export * from './results-writer';
export type {
  TrialRecord,
  GroupInfo,
  TrialSeries,
  TheoryCurve,
  ReportData,
  SlopeFit,
  LearningTimeSource,
  ProbeSeries,
} from './report-data';
export type { FigureId, Figure } from './figure';
export type { SeriesBudget } from './series-store';
export { defaultSeriesBudget } from './series-store';
export { findingNames } from './finding-evidence';
export { telemetryColumnNames } from './telemetry-parquet-writer';
export { telemetryQuantities, type TelemetryQuantity } from './telemetry-quantities';
export { trialColumnsBefore, trialColumnsAfter } from './trials-table';
export { halfErrorTime } from './learning-time';
export { logSigmoidAt, type LogSigmoid, type FittedSigmoid } from './log-sigmoid';
