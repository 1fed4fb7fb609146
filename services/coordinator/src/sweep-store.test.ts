/**
 * The outcome shards against a real nats-server: each trial is recorded once (duplicates in one
 * batch, across batches, and from two coordinators writing the same shard at once), shard edges,
 * forgetting for a resume, and counts rebuilt from the shards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Bus, ensureTopology, outcomeShardSize } from '@dynlab/bus';
import { v1 } from '@dynlab/proto';
import { startNats, type NatsServerHandle } from '@dynlab/testing';
import { SweepStore, type TrialOutcomeCode } from './sweep-store';

const {
  TRIAL_STATUS_OK: OK,
  TRIAL_STATUS_FAILED: FAILED,
  TRIAL_STATUS_CANCELLED: CANCELLED,
} = v1.TrialStatus;

let nats: NatsServerHandle;
let bus: Bus;
let store: SweepStore;

before(async () => {
  nats = await startNats();
  bus = await Bus.connect({ servers: nats.url, name: 'sweep-store-test' });
  await ensureTopology(bus);
  store = await SweepStore.open(bus);
});
after(async () => {
  await bus.close();
  await nats.cleanup();
});

async function newSweep(id: string, total: number): Promise<void> {
  const created = await store.create(
    {
      sweepId: id,
      state: v1.SweepState.SWEEP_STATE_RUNNING,
      counts: { total, enqueued: true },
    },
    { name: id },
  );
  assert.ok(created);
}

const ok = (...indices: number[]): TrialOutcomeCode[] =>
  indices.map((index) => ({ index, status: OK }));

test('a trial is recorded once: a duplicate in the same batch or a later one is not returned', async () => {
  await newSweep('sw-once', 10);
  const first = await store.recordOutcomes('sw-once', 10, [
    ...ok(0, 3, 3),
    { index: 4, status: FAILED },
  ]);
  assert.deepEqual(
    first.map((o) => o.index),
    [0, 3, 4],
  );
  const again = await store.recordOutcomes('sw-once', 10, [
    ...ok(3, 5),
    { index: 0, status: CANCELLED },
  ]);
  assert.deepEqual(
    again.map((o) => o.index),
    [5],
  );
  const statuses = await store.outcomesOf('sw-once', 10);
  assert.deepEqual([...statuses], [OK, 0, 0, OK, FAILED, OK, 0, 0, 0, 0]);
});

test('outcomes on both sides of a shard edge land in their own shards', async () => {
  const total = outcomeShardSize + 10;
  await newSweep('sw-edge', total);
  const edge = [0, outcomeShardSize - 1, outcomeShardSize, total - 1];
  const recorded = await store.recordOutcomes('sw-edge', total, ok(...edge));
  assert.equal(recorded.length, 4);
  const statuses = await store.outcomesOf('sw-edge', total);
  assert.equal(statuses.length, total);
  for (let i = 0; i < total; i++)
    assert.equal(statuses[i], edge.includes(i) ? OK : 0, `trial ${i}`);
  const st = await store.recount('sw-edge');
  assert.equal(st?.counts?.ok, 4);
});

test('two stores writing one shard at once: compare-and-set keeps every trial, each counted once', async () => {
  const total = 2000;
  await newSweep('sw-race', total);
  const other = await SweepStore.open(bus);
  // Overlapping halves in many small batches from both writers, interleaved.
  const batches: Promise<TrialOutcomeCode[]>[] = [];
  for (let start = 0; start < total; start += 50) {
    const idx = Array.from({ length: 50 }, (_, k) => start + k);
    batches.push(store.recordOutcomes('sw-race', total, ok(...idx)));
    batches.push(other.recordOutcomes('sw-race', total, ok(...idx.filter((i) => i % 3 === 0))));
  }
  const returned = (await Promise.all(batches)).flat().map((o) => o.index);
  assert.equal(returned.length, total, 'each trial is reported as new exactly once');
  assert.equal(new Set(returned).size, total);
  const statuses = await store.outcomesOf('sw-race', total);
  assert.equal(
    statuses.every((s) => s === OK),
    true,
  );
});

test('forgotten outcomes can be recorded again (resume), and recount follows the shards', async () => {
  await newSweep('sw-forget', 6);
  await store.recordOutcomes('sw-forget', 6, [
    ...ok(0, 1),
    { index: 2, status: CANCELLED },
    { index: 3, status: CANCELLED },
  ]);
  assert.deepEqual((await store.recount('sw-forget'))?.counts?.cancelled, 2);
  await store.forgetOutcomes('sw-forget', 6, [2, 3]);
  assert.deepEqual([...(await store.outcomesOf('sw-forget', 6))], [OK, OK, 0, 0, 0, 0]);
  const back = await store.recordOutcomes('sw-forget', 6, ok(2, 3, 4, 5));
  assert.equal(back.length, 4);
  const st = await store.recount('sw-forget');
  assert.equal(st?.counts?.ok, 6);
  assert.equal(st?.counts?.cancelled, 0);
  assert.equal(st?.state, v1.SweepState.SWEEP_STATE_COMPLETE, 'every trial has an outcome');
});

test('a resume plan reads back as stored, across a shard edge; none stored reads as null', async () => {
  const total = outcomeShardSize + 3;
  const rerun = new Uint8Array(total);
  for (const i of [1, outcomeShardSize - 1, outcomeShardSize + 2]) rerun[i] = 1;
  await store.saveResumePlan('sw-plan', 1, rerun);
  assert.deepEqual(await store.resumePlan('sw-plan', 1, total), rerun);
  assert.equal(await store.resumePlan('sw-plan', 2, total), null);
});
