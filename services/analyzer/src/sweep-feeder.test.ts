import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { AnalyzerHost, defineAnalyzer } from '@dynlab/analysis';
import { v1 } from '@dynlab/proto';
import { compileSweep } from '@dynlab/spec';
import { SweepFeeder } from './analyzer-service';

const sweep = compileSweep({
  base: { data: { features: { n: 8, features: [{}] } }, model: { kind: 'linear' }, steps: 10 },
  seeds: 2,
});

function setup() {
  const seen: string[] = [];
  const probe = defineAnalyzer({
    name: 'probe',
    version: '1',
    description: 'records what the host hands it',
    options: z.object({}).strict(),
    setup: () => ({
      onChunk: (trial, chunk) => void seen.push(`chunk ${trial.id} ${chunk.steps.join(',')}`),
      onTrialEnd: (trial, outcome, series) =>
        void seen.push(`end ${trial.id} ${outcome.status} ${series.steps.join(',')}`),
      onSweepEnd: () => void seen.push('sweep end'),
    }),
  });
  const host = new AnalyzerHost({ analyzers: [{ definition: probe }], onFinding: () => undefined });
  const refetched: string[] = [];
  const stored: v1.TelemetryChunk[] = [];
  const feeder = new SweepFeeder(
    host,
    async () => sweep,
    async (_s, trial) => {
      refetched.push(trial);
      return stored.filter((c) => c.trialId === trial);
    },
  );
  return { seen, feeder, refetched, stored };
}

const chunk = (trial: string, index: number, steps: number[], last = false) =>
  v1.TelemetryChunk.create({
    sweepId: 'sw',
    trialId: trial,
    chunkIndex: index,
    steps,
    loss: steps.map(() => 0.5),
    last,
  });
const result = (trial: string, chunks: number) =>
  v1.TrialResult.create({
    sweepId: 'sw',
    trialId: trial,
    status: v1.TrialStatus.TRIAL_STATUS_OK,
    telemetryChunks: chunks,
  });

test('chunks are handed over in order, duplicates dropped, and a trial ends only when all are in', async () => {
  const { seen, feeder } = setup();
  await feeder.chunk(chunk('sw-t000000', 1, [5, 10], true)); // overtook chunk 0
  await feeder.result(result('sw-t000000', 2));
  assert.deepEqual(seen, [], 'nothing before chunk 0');
  await feeder.chunk(chunk('sw-t000000', 0, [0, 1]));
  await feeder.chunk(chunk('sw-t000000', 0, [0, 1])); // a redelivery
  assert.deepEqual(seen, [
    'chunk sw-t000000 0,1',
    'chunk sw-t000000 5,10',
    'end sw-t000000 ok 0,1,5,10',
  ]);
});

test('the sweep ends after its last trial; missing chunks are re-read from the stream', async () => {
  const { seen, feeder, refetched, stored } = setup();
  await feeder.chunk(chunk('sw-t000000', 0, [0], true));
  await feeder.result(result('sw-t000000', 1));
  stored.push(chunk('sw-t000001', 0, [0]), chunk('sw-t000001', 1, [10], true));
  await feeder.result(result('sw-t000001', 2)); // its chunks were acked before a restart
  assert.equal(seen.includes('sweep end'), false);
  await feeder.settle('sw', 'sw-t000001');
  assert.deepEqual(refetched, ['sw-t000001']);
  assert.deepEqual(seen.slice(-2), ['end sw-t000001 ok 0,10', 'sweep end']);
});
