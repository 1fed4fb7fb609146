import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy } from 'nats';
import { ErrorCode, DynlabError, ValidationError, silentLogger } from '@dynlab/core';
import { v1 } from '@dynlab/proto';
import { startNats, waitFor, type NatsServerHandle } from '@dynlab/testing';
import {
  Bus,
  ensureTopology,
  startDurableConsumer,
  startDeadLetterConsumer,
  TypedKv,
  readStream,
  PullFeed,
  ConflictError,
  subjects,
  streams,
  consumers,
  buckets,
} from './index';

let nats: NatsServerHandle;
let bus: Bus;

before(async () => {
  nats = await startNats();
  bus = await Bus.connect({ servers: nats.url, name: 'bus-test' });
  await ensureTopology(bus, { jobAckWaitS: 1, jobMaxDeliver: 3 });
});
after(async () => {
  await bus.close();
  await nats.cleanup();
});

/** Empties the job queue so each test starts clean. */
async function purgeJobs() {
  await bus.jsm.streams.purge(streams.jobs);
}

test('topology is idempotent and works on this server version', async () => {
  await ensureTopology(bus, { jobAckWaitS: 1, jobMaxDeliver: 3 });
  const names = [];
  for await (const s of bus.jsm.streams.list()) names.push(s.config.name);
  assert.deepEqual(names.sort(), [...Object.values(streams), `KV_${buckets.sweeps}`].sort());
  assert.ok(bus.serverAtLeast(2, 9));
  assert.equal(bus.serverAtLeast(99, 0), false);
});

test('request/reply round-trips, errors come back typed, no responders is typed', async () => {
  const svc = bus.serve(subjects.sweepGet, v1.GetSweepRequest, v1.GetSweepReply, async (req) => {
    if (req.sweepId === 'missing')
      throw new ValidationError([{ path: 'sweepId', message: 'no such sweep' }]);
    return { status: { sweepId: req.sweepId, name: 'n' } };
  });
  try {
    const rep = await bus.request(
      subjects.sweepGet,
      v1.GetSweepRequest,
      { sweepId: 's1' },
      v1.GetSweepReply,
    );
    assert.equal(rep.status?.sweepId, 's1');
    await assert.rejects(
      bus.request(subjects.sweepGet, v1.GetSweepRequest, { sweepId: 'missing' }, v1.GetSweepReply),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(err.issues, [{ path: 'sweepId', message: 'no such sweep' }]);
        return true;
      },
    );
  } finally {
    svc.stop();
  }
  await assert.rejects(
    bus.request(subjects.sweepList, v1.ListSweepsRequest, {}, v1.ListSweepsReply, 2000),
    (err: unknown) => {
      assert.ok(err instanceof DynlabError);
      assert.equal(err.code, ErrorCode.NoResponders);
      return true;
    },
  );
});

for (const confirmAcks of [true, false])
  test(`a job that is not acked is redelivered; an acked one is not (acks ${confirmAcks ? 'confirmed' : 'plain'})`, async () => {
    await purgeJobs();
    await bus.publish(
      subjects.jobs('s2'),
      v1.Job,
      { jobId: `j-unacked-${confirmAcks}`, sweepId: 's2' },
      { msgId: `j-unacked-${confirmAcks}` },
    );
    await bus.publish(
      subjects.jobs('s2'),
      v1.Job,
      { jobId: `j-acked-${confirmAcks}`, sweepId: 's2' },
      { msgId: `j-acked-${confirmAcks}` },
    );
    const seen: string[] = [];
    let failedOnce = false;
    const c = await startDurableConsumer(bus, {
      stream: streams.jobs,
      durable: consumers.trainers,
      type: v1.Job,
      logger: silentLogger,
      nakDelayMs: () => 100,
      confirmAcks,
      handler: async (job, ctx) => {
        seen.push(`${job.jobId}#${ctx.deliveries}`);
        if (job.jobId === `j-unacked-${confirmAcks}` && !failedOnce) {
          failedOnce = true;
          throw new DynlabError(ErrorCode.Unavailable, 'transient', { retryable: true });
        }
      },
    });
    try {
      await waitFor(
        () => seen.includes(`j-unacked-${confirmAcks}#2`),
        "redelivery of the nak'd job",
      );
      await new Promise((r) => setTimeout(r, 1500)); // past the ack wait: nothing else may come
    } finally {
      await c.stop();
    }
    assert.deepEqual(seen.sort(), [
      `j-acked-${confirmAcks}#1`,
      `j-unacked-${confirmAcks}#1`,
      `j-unacked-${confirmAcks}#2`,
    ]);
    const info = await bus.jsm.streams.info(streams.jobs);
    assert.equal(info.state.messages, 0, 'acked jobs leave the work queue');
  });

/** A pull feed on the trainers' consumer that acks and keeps the job ids it gets. */
function jobFeed() {
  const got: string[] = [];
  const rooms = { count: 0 };
  const feed = new PullFeed(
    bus,
    streams.jobs,
    consumers.trainers,
    (m) => {
      got.push(v1.Job.decode(m.data).jobId);
      m.ack();
    },
    () => rooms.count++,
    silentLogger,
  );
  return { feed, got, rooms };
}

test('a pull feed gets what it asks for, one request per pull, and counts a short request back when it expires', async () => {
  await purgeJobs();
  for (let i = 0; i < 5; i++)
    await bus.publish(subjects.jobs('s-feed'), v1.Job, { jobId: `feed-${i}`, sweepId: 's-feed' });
  const sent0 = bus.nc.stats().outMsgs;
  const { feed, got, rooms } = jobFeed();
  try {
    feed.pull(2);
    await waitFor(() => got.length === 2, 'two messages');
    assert.equal(feed.pending, 0);
    assert.equal(bus.nc.stats().outMsgs - sent0, 1 + 2, 'one pull request, two acks');
    // More than the queue holds: three come, and the request ends short when it expires.
    feed.pull(10);
    await waitFor(() => got.length === 5, 'the other three');
    assert.equal(feed.pending, 7);
    await waitFor(
      () => rooms.count > 0 && feed.pending === 0,
      'the expiry of the short request',
      10_000,
    );
    assert.deepEqual(
      got,
      [0, 1, 2, 3, 4].map((i) => `feed-${i}`),
    );
  } finally {
    feed.close();
  }
});

test('a pull feed counts right when the server shares messages among its waiting requests', async () => {
  // nats-server gives waiting requests a message in turn, not the oldest first: of a request for
  // 3 and one for 1, two messages go one to each, and the first expires with 2 never sent.
  await purgeJobs();
  const { feed, got, rooms } = jobFeed();
  try {
    feed.pull(3);
    feed.pull(1);
    await bus.nc.flush();
    for (const i of [0, 1])
      await bus.publish(subjects.jobs('s-share'), v1.Job, {
        jobId: `share-${i}`,
        sweepId: 's-share',
      });
    await waitFor(() => got.length === 2, 'two messages');
    assert.equal(feed.pending, 2);
    await waitFor(() => rooms.count > 0, 'the first request to expire', 10_000);
    assert.equal(feed.pending, 0, 'nothing more is to come');
  } finally {
    feed.close();
  }
});

test('a pull the server refuses (too many waiting) is counted back; the others stay counted', async () => {
  await bus.jsm.consumers.add(streams.results, {
    durable_name: 'feed-narrow',
    ack_policy: AckPolicy.Explicit,
    filter_subject: subjects.results('sw-narrow'),
    max_waiting: 2,
  });
  const statuses: string[] = [];
  const log = { ...silentLogger, warn: (msg: string) => statuses.push(msg) };
  const feed = new PullFeed(
    bus,
    streams.results,
    'feed-narrow',
    () => undefined,
    () => undefined,
    log,
  );
  try {
    feed.pull(3);
    feed.pull(4);
    feed.pull(5); // a third waiting request: refused with 409 Exceeded MaxWaiting
    await waitFor(() => feed.pending === 7, 'the refused request counted back');
    assert.deepEqual(statuses, ['pull request refused by the server']);
  } finally {
    feed.close();
    await bus.jsm.consumers.delete(streams.results, 'feed-narrow');
  }
});

test('a request the server lost in a restart is written off on its own, while newer requests come and go', async () => {
  await purgeJobs();
  const { feed, rooms } = jobFeed();
  let asking = true;
  let asker: Promise<void> | undefined;
  try {
    feed.pull(50);
    await bus.nc.flush();
    // A consumer with room keeps asking, one request a second, through the restart: each expires
    // short and is counted back, and the lost one must not stay counted among them (it held
    // fifty slots for good).
    asker = (async () => {
      while (asking) {
        feed.pull(1);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    // Killed, not stopped: a server that stops in order ends its waiting requests with a 409; a
    // killed one takes them with it unanswered.
    await nats.kill();
    await nats.restart();
    // At most the last few one-message requests are still waiting.
    await waitFor(() => feed.pending < 10, 'the lost request written off', 15_000);
    assert.ok(rooms.count > 0);
  } finally {
    asking = false;
    await asker;
    feed.close();
  }
});

test('a busy consumer pulls for a quarter of its slots at a time, not for every message', async () => {
  await purgeJobs();
  const n = 200;
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      bus.publish(subjects.jobs('s-many'), v1.Job, { jobId: `many-${i}`, sweepId: 's-many' }),
    ),
  );
  let handled = 0;
  const sent0 = bus.nc.stats().outMsgs;
  const c = await startDurableConsumer(bus, {
    stream: streams.jobs,
    durable: consumers.trainers,
    type: v1.Job,
    logger: silentLogger,
    concurrency: 16,
    confirmAcks: false,
    handler: async () => {
      await new Promise((r) => setTimeout(r, 1));
      handled++;
    },
  });
  try {
    await waitFor(() => handled === n, 'every message handled');
  } finally {
    await c.stop(1000);
  }
  // Everything sent on the connection meanwhile: one ack per message, and the pulls.
  const pulls = bus.nc.stats().outMsgs - sent0 - n;
  assert.ok(pulls <= n / 4 + 4, `${pulls} pull requests for ${n} messages, 16 slots`);
});

test('a duplicate message id is dropped by the stream', async () => {
  await purgeJobs();
  await bus.publish(subjects.jobs('s3'), v1.Job, { jobId: 'dup' }, { msgId: 'dup-1' });
  await bus.publish(subjects.jobs('s3'), v1.Job, { jobId: 'dup' }, { msgId: 'dup-1' });
  await bus.publish(subjects.jobs('s3'), v1.Job, { jobId: 'other' }, { msgId: 'dup-2' });
  const info = await bus.jsm.streams.info(streams.jobs);
  assert.equal(info.state.messages, 2);
  await purgeJobs();
});

test('poison messages land in the dead-letter stream with their reason', async (t) => {
  await purgeJobs();
  const records: v1.DeadLetter[] = [];
  const dl = await startDeadLetterConsumer(bus, {
    durable: 'test-deadletters',
    logger: silentLogger,
    handler: async (r) => void records.push(r),
  });
  t.after(() => dl.stop());
  // 1. a job whose handler always throws: dead-lettered on its last delivery, with the error
  await bus.publish(
    subjects.jobs('s4'),
    v1.Job,
    { jobId: 'poison', sweepId: 's4' },
    { msgId: 'poison' },
  );
  // 2. bytes that are no Job at all
  bus.nc.publish(subjects.jobs('s4'), new Uint8Array([0xff, 0xff, 0xff, 0x01]));
  const malformed: string[] = [];
  const c = await startDurableConsumer(bus, {
    stream: streams.jobs,
    durable: consumers.trainers,
    type: v1.Job,
    logger: silentLogger,
    nakDelayMs: () => 50,
    onMalformed: (err) => malformed.push(err.code),
    handler: async () => {
      throw new Error('worker exploded');
    },
  });
  try {
    await waitFor(() => records.length >= 2, 'two dead letters', 20_000);
  } finally {
    await c.stop();
  }
  const poison = records.find((r) => r.reason.includes('worker exploded'));
  assert.ok(poison, JSON.stringify(records.map((r) => r.reason)));
  assert.equal(poison.deliveries, 3);
  assert.match(poison.reason, /failed on delivery 3 of 3: worker exploded/);
  assert.equal(v1.Job.decode(poison.payload).jobId, 'poison');
  const bad = records.find((r) => r.error?.code === ErrorCode.Decode);
  assert.ok(bad, 'the undecodable payload is recorded');
  assert.deepEqual(malformed, [ErrorCode.Decode]);

  // 3. a job taken by workers that die without acking: the server's max-deliveries advisory
  records.length = 0;
  await bus.publish(
    subjects.jobs('s4'),
    v1.Job,
    { jobId: 'orphan', sweepId: 's4' },
    { msgId: 'orphan' },
  );
  const cons = await bus.js.consumers.get(streams.jobs, consumers.trainers);
  for (let i = 0; i < 3; i++) {
    const m = await waitFor(() => cons.next({ expires: 1500 }), `delivery ${i + 1}`, 10_000);
    assert.equal(`${v1.Job.decode(m.data).jobId}#${m.info.redeliveryCount}`, `orphan#${i + 1}`); // never acked: the "worker" vanished
  }
  // The server notices the exhausted message (and advises) when a worker next asks for work.
  assert.equal(
    await cons.next({ expires: 2500 }),
    null,
    'the orphan is not delivered a fourth time',
  );
  await waitFor(() => records.length >= 1, 'the max-deliveries dead letter', 15_000);
  assert.match(records[0]!.reason, /delivered 3 times without an ack/);
  assert.equal(v1.Job.decode(records[0]!.payload).jobId, 'orphan');
  assert.equal(
    (await bus.jsm.streams.info(streams.jobs)).state.messages,
    0,
    'the orphan was removed from the queue',
  );
});

test('KV compare-and-set rejects a stale revision; create is once only', async () => {
  const kv = await TypedKv.open(bus, buckets.sweeps, v1.SweepStatus);
  const r1 = await kv.create('sweep-cas', { sweepId: 'sweep-cas', counts: { ok: 0 } });
  await assert.rejects(kv.create('sweep-cas', { sweepId: 'x' }), ConflictError);
  const r2 = await kv.update('sweep-cas', { sweepId: 'sweep-cas', counts: { ok: 1 } }, r1);
  await assert.rejects(
    kv.update('sweep-cas', { sweepId: 'sweep-cas', counts: { ok: 99 } }, r1),
    (err: unknown) => err instanceof ConflictError && err.code === ErrorCode.Conflict,
  );
  const now = await kv.get('sweep-cas');
  assert.equal(now?.revision, r2);
  assert.equal(now?.value.counts?.ok, 1);
  // concurrent modifies all land
  await Promise.all(
    Array.from({ length: 10 }, () =>
      kv.modify('sweep-cas', (cur) => ({ ...cur!, counts: { ok: (cur?.counts?.ok ?? 0) + 1 } })),
    ),
  );
  assert.equal((await kv.get('sweep-cas'))?.value.counts?.ok, 11);
});

test('modify starts from what it last wrote, and still loses nothing to another writer', async () => {
  const a = await TypedKv.open(bus, buckets.sweeps, v1.SweepStatus);
  const b = await TypedKv.open(bus, buckets.sweeps, v1.SweepStatus);
  const add = (kv: typeof a, n: number) =>
    kv.modify('sweep-mine', (cur) => ({
      sweepId: 'sweep-mine',
      counts: { ok: (cur?.counts?.ok ?? 0) + n },
    }));
  const sent0 = bus.nc.stats().outMsgs;
  for (let i = 0; i < 5; i++) await add(a, 1);
  // Alone on the key, each change after the first is one request (the write), not a read and a
  // write: a read and a create, then four writes (ten messages if every change read first).
  assert.equal(bus.nc.stats().outMsgs - sent0, 6);
  // A write by another instance makes a's remembered revision stale: a conflict, a read, a retry.
  await add(b, 100);
  await add(a, 1);
  assert.equal((await a.get('sweep-mine'))?.value.counts?.ok, 106);
  // Interleaved writers, many at once: every change lands once.
  await Promise.all(Array.from({ length: 20 }, (_, i) => add(i % 2 ? a : b, 1)));
  assert.equal((await b.get('sweep-mine'))?.value.counts?.ok, 126);
  // A change that turns out to be none on the remembered value is checked against the real one:
  // b clears the key's count, a's remembered value still says 126.
  await add(b, -126);
  const seen: number[] = [];
  await a.modify('sweep-mine', (cur) => {
    seen.push(cur?.counts?.ok ?? -1);
    return (cur?.counts?.ok ?? 0) === 0 ? { sweepId: 'sweep-mine', counts: { ok: 7 } } : undefined;
  });
  assert.deepEqual(seen, [126, 0], 'the stale value, then the real one');
  assert.equal((await b.get('sweep-mine'))?.value.counts?.ok, 7);
});

test('watch yields the current value and then each change', { timeout: 60_000 }, async () => {
  const kv = await TypedKv.open(bus, buckets.sweeps, v1.SweepStatus);
  await kv.put('sweep-watched', { sweepId: 'sweep-watched', counts: { ok: 1 } });
  const ctl = new AbortController();
  const seen: number[] = [];
  // The changes are written once the watch has delivered the current value: written after a fixed
  // wait instead, on a loaded machine they could come before the watch began, which then saw only
  // the last value and waited for ever.
  let started: () => void = () => undefined;
  const current = new Promise<void>((r) => (started = r));
  const watching = (async () => {
    for await (const v of kv.watch('sweep-watched', ctl.signal)) {
      seen.push(v?.counts?.ok ?? -1);
      if (seen.length === 1) started();
      if (seen.length === 3) ctl.abort();
    }
  })();
  await current;
  await kv.put('sweep-watched', { sweepId: 'sweep-watched', counts: { ok: 2 } });
  await kv.put('sweep-watched', { sweepId: 'sweep-watched', counts: { ok: 3 } });
  await watching;
  assert.deepEqual(seen, [1, 2, 3]);
});

test('readStream gives every message in order, also to a reader that pauses between them', async () => {
  const subject = subjects.results('sw-slowread');
  const n = 1500;
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) acks.push(bus.js.publish(subject, new Uint8Array([i & 255, i >> 8])));
  await Promise.all(acks);
  // Other subjects of the stream in between are not read.
  await bus.js.publish(subjects.results('sw-other'), new Uint8Array([9]));
  for (const pauseAt of [-1, 3, 700]) {
    const got: number[] = [];
    for await (const data of readStream(bus, streams.results, subject)) {
      // A reader that writes a file now and then (the old read lost ~10% of a large sweep here).
      if (got.length === pauseAt || got.length === pauseAt + 600)
        await new Promise((r) => setTimeout(r, 60));
      got.push(data[0]! + 256 * data[1]!);
    }
    assert.equal(got.length, n, `pause at ${pauseAt}`);
    assert.ok(
      got.every((v, i) => v === i),
      `pause at ${pauseAt}: in order`,
    );
  }
});

test('the client keeps working after the server restarts, JetStream data kept', async () => {
  await purgeJobs();
  await bus.publish(
    subjects.jobs('s5'),
    v1.Job,
    { jobId: 'before-restart' },
    { msgId: 'before-restart' },
  );
  await nats.restart();
  await waitFor(
    async () => {
      try {
        await bus.publish(
          subjects.jobs('s5'),
          v1.Job,
          { jobId: 'after-restart' },
          { msgId: 'after-restart' },
        );
        return true;
      } catch {
        return false;
      }
    },
    'publishing after the restart',
    20_000,
    200,
  );
  const got: string[] = [];
  const c = await startDurableConsumer(bus, {
    stream: streams.jobs,
    durable: consumers.trainers,
    type: v1.Job,
    logger: silentLogger,
    handler: async (j) => void got.push(j.jobId ?? ''),
  });
  try {
    await waitFor(() => got.length >= 2, 'both jobs');
  } finally {
    await c.stop();
  }
  assert.deepEqual(got, ['before-restart', 'after-restart']);
});

test('an oversized payload is rejected with a clear error', async () => {
  await assert.rejects(
    bus.publish(subjects.results('s6'), v1.TrialResult, {
      trialId: 'x',
      backend: 'x'.repeat(9_000_000),
    }),
    (err: unknown) => {
      assert.ok(err instanceof DynlabError);
      assert.equal(err.code, ErrorCode.TooLarge);
      assert.match(err.message, /exceeds the server's max payload/);
      return true;
    },
  );
});
