/**
 * Reading a sweep back trial by trial from streams that hold what a real cluster leaves behind:
 * trials interleaved, a job redelivered after a trainer died (chunks and a result published
 * twice), a trial whose chunks the sweep-wide read missed, and a trial that lost a chunk for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DynlabClient } from '@dynlab/client';
import { v1 } from '@dynlab/proto';
import { readSweepTrials } from './sweep-trials';

const chunk = (trialId: string, chunkIndex: number, step: number, jobId = 'j') =>
  v1.TelemetryChunk.create({
    sweepId: 'sw',
    trialId,
    chunkIndex,
    steps: [step],
    loss: [step / 10],
    jobId,
  });
const result = (trialId: string, telemetryChunks: number, finalLoss = 0.5, jobId = 'j') =>
  v1.TrialResult.create({
    sweepId: 'sw',
    trialId,
    status: v1.TrialStatus.TRIAL_STATUS_OK,
    telemetryChunks,
    finalLoss,
    jobId,
  });

/** A client over fixed streams; `missFromSweepRead` chunks are only found by a per-trial read. */
function fakeClient(
  results: v1.TrialResult[],
  telemetry: v1.TelemetryChunk[],
  missFromSweepRead: v1.TelemetryChunk[] = [],
) {
  const reads: string[] = [];
  async function* iter<T>(xs: T[]) {
    await Promise.resolve();
    yield* xs;
  }
  const client = {
    results: () => (reads.push('results'), iter(results)),
    telemetry: (_sweep: string, trial?: { trialId: string; jobId: string }) => {
      reads.push(trial ? `telemetry ${trial.trialId} of ${trial.jobId}` : 'telemetry');
      return iter(
        trial
          ? [...telemetry, ...missFromSweepRead].filter(
              (c) => c.trialId === trial.trialId && c.jobId === trial.jobId,
            )
          : telemetry,
      );
    },
  } as unknown as DynlabClient;
  return { client, reads };
}

async function collect(client: DynlabClient, expectedResults?: number) {
  const out: { trial: string; steps: number[]; complete: boolean; finalLoss: number }[] = [];
  for await (const t of readSweepTrials(client, 'sw', { expectedResults }))
    out.push({
      trial: t.result.trialId,
      steps: t.chunks.flatMap((c) => c.steps),
      complete: t.complete,
      finalLoss: t.result.finalLoss,
    });
  return out;
}

void test('interleaved trials come out as each completes, chunks in order, redelivered duplicates dropped', async () => {
  const { client, reads } = fakeClient(
    [result('a', 2), result('b', 3), result('a', 2, 9)],
    [
      chunk('a', 0, 1),
      chunk('b', 0, 1),
      chunk('b', 1, 10),
      chunk('a', 0, 1),
      chunk('b', 1, 10),
      chunk('a', 1, 10),
      chunk('b', 2, 100),
      chunk('x', 0, 1),
    ],
  );
  assert.deepEqual(await collect(client), [
    { trial: 'a', steps: [1, 10], complete: true, finalLoss: 0.5 },
    { trial: 'b', steps: [1, 10, 100], complete: true, finalLoss: 0.5 },
  ]);
  assert.deepEqual(
    reads,
    ['results', 'telemetry'],
    'one read of each stream when nothing is missing',
  );
});

void test('chunks the sweep-wide read missed are read again by trial; a real gap ends the series there', async () => {
  const { client, reads } = fakeClient(
    [result('a', 3), result('b', 3)],
    [chunk('a', 0, 1), chunk('b', 0, 1), chunk('b', 2, 100)],
    [chunk('a', 1, 10), chunk('a', 2, 100)],
  );
  assert.deepEqual(await collect(client), [
    { trial: 'a', steps: [1, 10, 100], complete: true, finalLoss: 0.5 },
    { trial: 'b', steps: [1], complete: false, finalLoss: 0.5 },
  ]);
  assert.deepEqual(reads, ['results', 'telemetry', 'telemetry a of j', 'telemetry b of j']);
});

void test("a resumed trial's result and series are its last run's, not the cancelled run's", async () => {
  const cancelled = v1.TrialResult.create({
    ...result('a', 2, NaN, 'j'),
    status: v1.TrialStatus.TRIAL_STATUS_CANCELLED,
  });
  const { client } = fakeClient(
    [cancelled, result('a', 2, 0.5, 'j-r1')],
    [chunk('a', 0, 1, 'j'), chunk('a', 1, 5, 'j'), chunk('a', 0, 2, 'j-r1')],
    [chunk('a', 1, 20, 'j-r1')],
  );
  assert.deepEqual(await collect(client), [
    { trial: 'a', steps: [2, 20], complete: true, finalLoss: 0.5 },
  ]);
});

void test('a short read of the results is read again until the expected count', async () => {
  let call = 0;
  const all = [result('a', 1), result('b', 1)];
  const client = {
    results: async function* () {
      await Promise.resolve();
      yield* call++ === 0 ? all.slice(0, 1) : all;
    },
    telemetry: async function* () {
      await Promise.resolve();
      yield* [chunk('a', 0, 1), chunk('b', 0, 1)];
    },
  } as unknown as DynlabClient;
  assert.deepEqual(
    (await collect(client, 2)).map((t) => t.trial),
    ['a', 'b'],
  );
  assert.equal(call, 2);
});
