/**
 * A worker-thread script for the delta test: it records what a training task would count (trials,
 * network-steps) into a MetricsDeltaRecorder, as a piscina worker does, and posts the delta back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MetricsDeltaRecorder } from './metrics-delta';
import { TrainerMetricNames } from './metric-names';

const { sweep, population, steps } = workerData as {
  sweep: string;
  population: number;
  steps: number;
};
const recorder = new MetricsDeltaRecorder();
for (let trial = 0; trial < population; trial++) {
  recorder.inc(TrainerMetricNames.networkSteps, { sweep, backend: 'wasm' }, steps);
  recorder.inc(TrainerMetricNames.trials, {
    sweep,
    backend: 'wasm',
    outcome: trial === 0 ? 'diverged' : 'ok',
  });
}
recorder.observe(TrainerMetricNames.workerWait, {}, 0.25);
recorder.inc(TrainerMetricNames.redeliveries, {}, 1);
parentPort?.postMessage(recorder.take());
parentPort?.postMessage(recorder.take());
