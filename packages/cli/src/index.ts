/**
 * @dynlab/cli: the `dynlab` command (bin `dynlab`, `dist/main.js`) and the pieces other tools may
 * reuse: running a sweep file end to end, exporting a sweep from the streams, reading a sweep's
 * trials back, and the progress display.
 */
export * from './run-cli';
export * from './define-command';
export * from './exit-codes';
export * from './run-sweep';
export * from './export-sweep';
export * from './sweep-trials';
export * from './settle-findings';
export * from './progress-display';
export * from './sweep-status-text';
export * from './theory-curves';
export * from './simulate-spec';
export * from './interruption';
export * from './cluster-connection';
