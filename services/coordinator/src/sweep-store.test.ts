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
  indices.map((index) => ({ index, status: OK, run: 0 }));

test('a trial is recorded once: a duplicate in the same batch or a later one is not returned', async () => {
  await newSweep('sw-once', 10);
  const first = await store.recordOutcomes('sw-once', 10, [
    ...ok(0, 3, 3),
    { index: 4, status: FAILED, run: 0 },
  ]);
  assert.deepEqual(
    first.map((o) => o.index),
    [0, 3, 4],
  );
  const again = await store.recordOutcomes('sw-once', 10, [
    ...ok(3, 5),
    { index: 0, status: CANCELLED, run: 0 },
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

test('a resume clears the cancelled outcomes it re-runs and refuses late cancelled ones of the stopped run', async () => {
  await newSweep('sw-rerun', 6);
  await store.recordOutcomes('sw-rerun', 6, [
    ...ok(0, 1),
    { index: 2, status: CANCELLED, run: 0 },
    { index: 3, status: CANCELLED, run: 0 },
  ]);
  assert.deepEqual((await store.recount('sw-rerun'))?.counts?.cancelled, 2);
  const rerun = Uint8Array.from([0, 0, 1, 1, 1, 1]); // the plan: no outcome or cancelled
  // A stopped job of run 0 reports after the plan was made, before the resume starts its run.
  await store.recordOutcomes('sw-rerun', 6, [{ index: 4, status: CANCELLED, run: 0 }]);
  await store.startRun('sw-rerun', 6, 1, rerun);
  assert.deepEqual([...(await store.outcomesOf('sw-rerun', 6))], [OK, OK, 0, 0, 0, 0]);
  // Another one after: refused, so it cannot take the byte of the re-run's result.
  const late = await store.recordOutcomes('sw-rerun', 6, [{ index: 5, status: CANCELLED, run: 0 }]);
  assert.deepEqual(late, []);
  const back = await store.recordOutcomes('sw-rerun', 6, [
    ...ok(2, 3, 4).map((o) => ({ ...o, run: 1 })),
    { index: 5, status: CANCELLED, run: 1 }, // the re-run itself cancelled: recorded
  ]);
  assert.equal(back.length, 4);
  const st = await store.recount('sw-rerun');
  assert.deepEqual([st?.counts?.ok, st?.counts?.cancelled], [5, 1]);
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

test('a resume plan is stored once: a second plan of the same resume gets the first one back, shard by shard', async () => {
  const total = outcomeShardSize + 3;
  const first = new Uint8Array(total);
  first[2] = 1;
  first[outcomeShardSize + 1] = 1;
  assert.deepEqual(await store.saveResumePlan('sw-plan-once', 1, first), first);
  // Another coordinator planned the same resume from outcomes read later: the first plan stands.
  const later = new Uint8Array(total);
  later[0] = 1;
  assert.deepEqual(await store.saveResumePlan('sw-plan-once', 1, later), first);
  assert.deepEqual(await store.resumePlan('sw-plan-once', 1, total), first);
  // One that died part way left only the first shard: the rest is completed from the new plan.
  const shard0 = new Uint8Array(outcomeShardSize);
  shard0[5] = 1;
  await store.saveResumePlan('sw-plan-part', 1, shard0);
  const whole = new Uint8Array(total);
  whole[7] = 1;
  whole[outcomeShardSize + 2] = 1;
  const stored = await store.saveResumePlan('sw-plan-part', 1, whole);
  assert.equal(stored[5], 1, 'the stored first shard is kept');
  assert.equal(stored[7], 0);
  assert.equal(stored[outcomeShardSize + 2], 1, 'the missing shard comes from the new plan');
});
