/**
 * @dynlab/analysis: the analyzer plug-in interface, the host that runs plug-ins over sweeps, and
 * the built-in analyzers of the papers' phenomena. Pure code over telemetry: no transport, no
 * metrics library, no tensor library; the analyzer service moves messages into an `AnalyzerHost`.
 */
export * from './define-analyzer';
export * from './analyzer-host';
export * from './analyzer-metrics';
export * from './finding-id';
export * from './load-analyzer-module';
export * from './builtin-analyzers';
export * from './series';
export * from './fit-sigmoid';
export * from './fit-linear';
export * from './student-t';
export * from './learning-time';
export * from './trial-key';
export * from './closed-form-case';
export * from './analyzers/gradient-share';
export * from './analyzers/starvation-counterfactual';
export * from './analyzers/learning-curve';
export * from './analyzers/convergence-speed';
export * from './analyzers/failed-training';
export * from './analyzers/loss-comparison';
export * from './analyzers/modes';
