/**
 * Each rule of deploy/nats/permissions.conf, checked with hand-written NATS calls as each user:
 * what it must be able to do, and what it must not. nats-permissions-services.test.ts runs the
 * real services under the same file, which finds the calls these checks do not know about.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AckPolicy,
  connect,
  type NatsConnection,
  type JetStreamClient,
  type JetStreamManager,
} from 'nats';
import { Bus, ensureTopology } from '@dynlab/bus';
import type { NatsServerHandle } from '@dynlab/testing';
import {
  natsPasswords as passwords,
  startNatsWithUsers,
  type NatsUser as User,
} from './nats-users';

let server: NatsServerHandle;
const open: NatsConnection[] = [];

interface Client {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** A connection as `user`, with its own inbox prefix (as dynlab's bus sets it). */
async function as(user: User): Promise<Client> {
  const nc = await connect({
    servers: server.url,
    user,
    pass: passwords[user],
    name: `test-${user}`,
    timeout: 5000,
    inboxPrefix: `_INBOX_${user}`,
  });
  open.push(nc);
  return {
    nc,
    js: nc.jetstream({ timeout: 2000 }),
    jsm: await nc.jetstreamManager({ timeout: 2000 }),
  };
}

/** Resolves to the error code a rejected promise carries (PERMISSIONS_VIOLATION, TIMEOUT...), or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; message?: string; api_error?: { err_code?: number } };
    return e.code === 'PERMISSIONS_VIOLATION' || /permissions violation/i.test(e.message ?? '')
      ? 'denied'
      : `failed: ${e.code ?? ''} ${e.message ?? ''}`;
  }
}

before(async () => {
  server = await startNatsWithUsers();
  // The coordinator creates the topology with the bus's own code, as it does at start-up (the
  // others may not): every stream, the trainers' consumer and the sweep KV bucket.
  const bus = await Bus.connect({
    servers: server.url,
    user: 'coordinator',
    pass: passwords.coordinator,
    name: 'test-topology',
  });
  try {
    await ensureTopology(bus);
    await ensureTopology(bus);
  } finally {
    await bus.close();
  }
  const { js } = await as('coordinator');
  const kv = await js.views.kv('dynlab_sweeps', { history: 1 });
  const rev = await kv.create('sw1', new TextEncoder().encode('running'));
  await kv.update('sw1', new TextEncoder().encode('running:1'), rev);
  assert.deepEqual(
    await collect(await kv.keys()),
    ['sw1'],
    'the coordinator lists KV keys (ordered consumer with flow control)',
  );
});

after(async () => {
  await Promise.all(open.map((nc) => nc.close()));
  await server?.cleanup();
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Resolves to the error code a subscription to `subject` gets (PERMISSIONS_VIOLATION), or 'open'. */
async function subscribeOutcome(c: Client, subject: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const sub = c.nc.subscribe(subject, { callback: (err) => err && resolve(err.code) });
    void sub.closed.then(() => resolve('closed'));
    void c.nc.flush().then(() => setTimeout(() => resolve('open'), 500));
  });
}

/** The coordinator answering sweep requests, as its queue-group handler does; returns the subjects it saw. */
async function serveRequests(): Promise<{ seen: string[]; stop(): void }> {
  const { nc } = await as('coordinator');
  const seen: string[] = [];
  const sub = nc.subscribe('dynlab.v1.sweep.>', { queue: 'coordinators' });
  void (async () => {
    for await (const m of sub) {
      seen.push(m.subject);
      m.respond(new TextEncoder().encode('accepted'));
    }
  })();
  await nc.flush();
  return { seen, stop: () => sub.unsubscribe() };
}

test("only the CLI's user can submit a sweep: a trainer's request is denied and never reaches the coordinator", async () => {
  const coordinator = await serveRequests();
  try {
    const cli = await as('cli');
    const reply = await cli.nc.request('dynlab.v1.sweep.submit', new TextEncoder().encode('spec'), {
      timeout: 2000,
    });
    assert.equal(new TextDecoder().decode(reply.data), 'accepted');
    const trainer = await as('trainer');
    assert.equal(
      await outcome(
        trainer.nc.request('dynlab.v1.sweep.submit', new Uint8Array(), { timeout: 1000 }),
      ),
      'denied',
    );
    const analyzer = await as('analyzer');
    assert.equal(
      await outcome(
        analyzer.nc.request('dynlab.v1.sweep.cancel', new Uint8Array(), { timeout: 1000 }),
      ),
      'denied',
    );
    await cli.nc.request('dynlab.v1.sweep.list', new Uint8Array(), { timeout: 2000 });
    assert.deepEqual(coordinator.seen, ['dynlab.v1.sweep.submit', 'dynlab.v1.sweep.list']);
  } finally {
    coordinator.stop();
  }
});

test("a trainer pulls a job, reads its sweep's state, heartbeats, publishes telemetry and the result, and acks; it can do nothing else", async () => {
  const coordinator = await as('coordinator');
  await coordinator.js.publish('dynlab.v1.jobs.sw1', new TextEncoder().encode('job-1'), {
    msgID: 'sw1-job-1',
  });

  const trainer = await as('trainer');
  const consumer = await trainer.js.consumers.get('DYNLAB_JOBS', 'trainers');
  const jobs = await collect(await consumer.fetch({ max_messages: 1, expires: 2000 }));
  assert.equal(jobs.length, 1);
  const job = jobs[0]!;
  assert.equal(new TextDecoder().decode(job.data), 'job-1');
  job.working();
  const tAck = await trainer.js.publish('dynlab.v1.telemetry.sw1.t1', new Uint8Array(64), {
    msgID: 't1-chunk-0',
  });
  assert.equal(tAck.stream, 'DYNLAB_TELEMETRY');
  const rAck = await trainer.js.publish('dynlab.v1.results.sw1', new Uint8Array(16), {
    msgID: 't1',
  });
  assert.equal(rAck.stream, 'DYNLAB_RESULTS');
  trainer.nc.publish('dynlab.v1.heartbeat.trainer.t-0', new Uint8Array());
  assert.equal(await job.ackAck(), true);
  assert.equal(
    (await coordinator.jsm.streams.info('DYNLAB_JOBS')).state.messages,
    0,
    'the acked job left the work queue',
  );

  assert.equal(
    await outcome(trainer.js.publish('dynlab.v1.jobs.sw1', new Uint8Array(), { msgID: 'forged' })),
    'denied',
    'publish a job',
  );
  assert.equal(
    await outcome(trainer.js.publish('dynlab.v1.findings.sw1', new Uint8Array())),
    'denied',
    'publish a finding',
  );
  assert.equal(
    await outcome(trainer.jsm.streams.add({ name: 'EVIL', subjects: ['evil.>'] })),
    'denied',
    'create a stream',
  );
  assert.equal(
    await outcome(trainer.jsm.streams.delete('DYNLAB_JOBS')),
    'denied',
    'delete the job stream',
  );
  assert.equal(
    await outcome(
      trainer.jsm.consumers.add('DYNLAB_RESULTS', {
        durable_name: 'peek',
        ack_policy: AckPolicy.Explicit,
      }),
    ),
    'denied',
    'read results',
  );
  // It reads the sweep's state before each job and on a cancel notice; only the coordinator writes it.
  const kv = await trainer.js.views.kv('dynlab_sweeps');
  assert.equal(new TextDecoder().decode((await kv.get('sw1'))!.value), 'running:1');
  assert.equal(
    await outcome(kv.put('sw1', new TextEncoder().encode('cancelled'))),
    'denied',
    'write sweep state',
  );
  assert.equal(await outcome(kv.delete('sw1')), 'denied', 'delete sweep state');

  assert.equal(
    await subscribeOutcome(trainer, 'dynlab.v1.sweep.>'),
    'PERMISSIONS_VIOLATION',
    'listen to sweep requests',
  );
});

test('an analyzer creates its durable consumer on telemetry, reads the sweep KV and publishes findings, and cannot publish results', async () => {
  const trainer = await as('trainer');
  await trainer.js.publish('dynlab.v1.telemetry.sw2.t9', new TextEncoder().encode('chunk'), {
    msgID: 't9-0',
  });
  const analyzer = await as('analyzer');
  await analyzer.jsm.consumers.add('DYNLAB_TELEMETRY', {
    durable_name: 'analyzer-default-telemetry',
    ack_policy: AckPolicy.Explicit,
    filter_subject: 'dynlab.v1.telemetry.sw2.>',
  });
  const consumer = await analyzer.js.consumers.get(
    'DYNLAB_TELEMETRY',
    'analyzer-default-telemetry',
  );
  const chunks = await collect(await consumer.fetch({ max_messages: 1, expires: 2000 }));
  assert.deepEqual(
    chunks.map((m) => m.subject),
    ['dynlab.v1.telemetry.sw2.t9'],
  );
  assert.equal(await chunks[0]!.ackAck(), true);
  const kv = await analyzer.js.views.kv('dynlab_sweeps');
  assert.equal(new TextDecoder().decode((await kv.get('sw1'))!.value), 'running:1');
  assert.equal(await outcome(kv.put('sw1', new Uint8Array())), 'denied', 'write sweep state');
  assert.equal(
    (await analyzer.js.publish('dynlab.v1.findings.sw2', new Uint8Array(8))).stream,
    'DYNLAB_FINDINGS',
  );
  assert.equal(
    await outcome(analyzer.js.publish('dynlab.v1.results.sw2', new Uint8Array())),
    'denied',
    'publish a result',
  );
  assert.equal(
    await outcome(analyzer.js.consumers.get('DYNLAB_JOBS', 'trainers')),
    'denied',
    'take jobs',
  );
});

test('the CLI reads results back with an ordered consumer but cannot enqueue jobs or write results', async () => {
  const cli = await as('cli');
  const ordered = await cli.js.consumers.get('DYNLAB_RESULTS');
  const results = await collect(await ordered.fetch({ max_messages: 10, expires: 1000 }));
  assert.ok(results.some((m) => m.subject === 'dynlab.v1.results.sw1'));
  assert.equal(
    await outcome(cli.js.publish('dynlab.v1.jobs.sw1', new Uint8Array())),
    'denied',
    'enqueue a job',
  );
  assert.equal(
    await outcome(cli.js.publish('dynlab.v1.results.sw1', new Uint8Array())),
    'denied',
    'write a result',
  );
  assert.equal(await outcome(cli.jsm.streams.purge('DYNLAB_RESULTS')), 'denied', 'purge results');
});

test("the CLI cannot look up, pull from, ack, change or delete a service's durable consumer (nor an analyzer the coordinator's)", async () => {
  const coordinator = await as('coordinator');
  await coordinator.js.publish('dynlab.v1.results.sw9', new TextEncoder().encode('r1'));
  await coordinator.jsm.consumers.add('DYNLAB_RESULTS', {
    durable_name: 'coordinator-results',
    ack_policy: AckPolicy.Explicit,
    filter_subject: 'dynlab.v1.results.sw9',
    max_deliver: 10,
  });
  const owned = await coordinator.js.consumers.get('DYNLAB_RESULTS', 'coordinator-results');
  const [held] = await collect(await owned.fetch({ max_messages: 1, expires: 1000 }));
  assert.ok(held, 'the coordinator holds a result, unacked');

  const cli = await as('cli');
  const durable = ['DYNLAB_RESULTS', 'coordinator-results'] as const;
  assert.equal(await outcome(cli.jsm.consumers.info(...durable)), 'denied', 'look it up');
  assert.equal(await outcome(cli.jsm.consumers.delete(...durable)), 'denied', 'delete it');
  assert.equal(
    await outcome(
      cli.nc.request(
        '$JS.API.CONSUMER.MSG.NEXT.DYNLAB_RESULTS.coordinator-results',
        new TextEncoder().encode(JSON.stringify({ batch: 1, no_wait: true })),
        { timeout: 2000 },
      ),
    ),
    'denied',
    'pull from it',
  );
  assert.equal(
    await outcome(
      cli.jsm.consumers.add('DYNLAB_RESULTS', {
        durable_name: 'coordinator-results',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'dynlab.v1.results.sw9',
        max_deliver: 1,
      }),
    ),
    'denied',
    'change it',
  );
  // An ack is a plain publish to the message's reply subject: the server drops it (its error
  // comes back on the connection, not to a caller), so the test looks at what the consumer holds.
  const ackSubject = (held as unknown as { reply: string }).reply;
  assert.match(ackSubject, /^\$JS\.ACK\.DYNLAB_RESULTS\.coordinator-results\./);
  cli.nc.publish(ackSubject, new TextEncoder().encode('+ACK'));
  await cli.nc.flush();
  // Nor may an analyzer, which has consumers of its own on the same stream.
  const analyzer = await as('analyzer');
  assert.equal(await outcome(analyzer.jsm.consumers.delete(...durable)), 'denied', 'analyzer');
  analyzer.nc.publish(ackSubject, new TextEncoder().encode('+ACK'));
  await analyzer.nc.flush();
  const info = await coordinator.jsm.consumers.info(...durable);
  assert.equal(info.num_ack_pending, 1, "the CLI's and the analyzer's acks did not take it away");
  assert.equal(info.config.max_deliver, 10, "its config is the coordinator's");
  held.ack();
  await coordinator.jsm.consumers.delete(...durable);
});

test("the CLI watches a sweep's status in KV but cannot write or delete it", async () => {
  const coordinator = await as('coordinator');
  const written = await coordinator.js.views.kv('dynlab_sweeps');
  await written.put('sw4', new TextEncoder().encode('running'));
  const cli = await as('cli');
  const kv = await cli.js.views.kv('dynlab_sweeps');
  const seen: string[] = [];
  for await (const e of await kv.watch({ key: 'sw4' })) {
    seen.push(new TextDecoder().decode(e.value));
    if (seen.length === 2) break;
    await written.put('sw4', new TextEncoder().encode('complete'));
  }
  assert.deepEqual(seen, ['running', 'complete']);
  assert.equal(
    await outcome(kv.put('sw4', new TextEncoder().encode('cancelled'))),
    'denied',
    'write sweep state',
  );
  assert.equal(await outcome(kv.delete('sw4')), 'denied', 'delete sweep state');
});

test('the coordinator records results, takes a dead-lettered job out of the queue and marks its trials failed, updates the topology and sends cancel notices', async () => {
  const coordinator = await as('coordinator');
  await coordinator.jsm.consumers.add('DYNLAB_RESULTS', {
    durable_name: 'coordinator-results',
    ack_policy: AckPolicy.Explicit,
  });
  const results = await collect(
    await (
      await coordinator.js.consumers.get('DYNLAB_RESULTS', 'coordinator-results')
    ).fetch({ max_messages: 1, expires: 2000 }),
  );
  assert.equal(results.length, 1);
  assert.equal(await results[0]!.ackAck(), true);
  await coordinator.jsm.consumers.add('DYNLAB_DEADLETTER', {
    durable_name: 'coordinator-deadletters',
    ack_policy: AckPolicy.Explicit,
  });
  const ack = await coordinator.js.publish(
    'dynlab.v1.jobs.sw3',
    new TextEncoder().encode('poison'),
    { msgID: 'sw3-job-0' },
  );
  const stored = await coordinator.jsm.streams.getMessage('DYNLAB_JOBS', { seq: ack.seq });
  assert.equal(new TextDecoder().decode(stored.data), 'poison');
  assert.equal(await coordinator.jsm.streams.deleteMessage('DYNLAB_JOBS', ack.seq, false), true);
  await coordinator.jsm.streams.update('DYNLAB_TELEMETRY', { max_age: 3600 * 1e9 });
  const trainer = await as('trainer');
  const notice = new Promise<string>((resolve) =>
    trainer.nc.subscribe('dynlab.v1.control.cancel.>', {
      max: 1,
      callback: (_e, m) => resolve(m.subject),
    }),
  );
  await trainer.nc.flush();
  coordinator.nc.publish('dynlab.v1.control.cancel.sw3');
  assert.equal(await notice, 'dynlab.v1.control.cancel.sw3');
  const failed = await coordinator.js.publish('dynlab.v1.results.sw3', new Uint8Array(8), {
    msgID: 'sw3-job-0:dead-letter',
  });
  assert.equal(failed.stream, 'DYNLAB_RESULTS', "the dead-lettered job's trials, failed");
  assert.equal(
    await outcome(coordinator.js.publish('dynlab.v1.telemetry.sw3.j0', new Uint8Array())),
    'denied',
    'forge telemetry',
  );
  assert.equal(
    await outcome(coordinator.jsm.streams.add({ name: 'OTHER', subjects: ['other.>'] })),
    'denied',
    'create a stream outside dynlab',
  );
});

test('a trainer or an analyzer cannot create the topology: they must start with DYNLAB_NATS_CREATE_TOPOLOGY=false', async () => {
  for (const user of ['trainer', 'analyzer'] as const) {
    const bus = await Bus.connect({
      servers: server.url,
      user,
      pass: passwords[user],
      name: `test-topology-${user}`,
      timeoutMs: 2000,
    });
    try {
      await assert.rejects(
        ensureTopology(bus),
        (e: Error) => /permissions violation/i.test(e.message),
        user,
      );
    } finally {
      await bus.close();
    }
  }
});

test('a wrong password is refused', async () => {
  await assert.rejects(
    connect({
      servers: server.url,
      user: 'trainer',
      pass: 'guess',
      timeout: 3000,
      reconnect: false,
    }),
    (e: { code?: string }) => e.code === 'AUTHORIZATION_VIOLATION',
  );
});

test("each user reads only its own replies: no subscription to another user's inbox or to NATS's shared _INBOX", async () => {
  const cli = await as('cli');
  assert.equal(await subscribeOutcome(cli, '_INBOX_cli.>'), 'open', 'its own inboxes');
  for (const other of ['_INBOX.>', '_INBOX_coordinator.>', '_INBOX_trainer.>', '_INBOX_analyzer.>'])
    assert.equal(await subscribeOutcome(cli, other), 'PERMISSIONS_VIOLATION', other);
  const trainer = await as('trainer');
  assert.equal(
    await subscribeOutcome(trainer, '_INBOX_cli.>'),
    'PERMISSIONS_VIOLATION',
    "a trainer listening to the CLI's replies",
  );
  // A request still gets its answer from the coordinator, on the requester's own inbox.
  const coordinator = await serveRequests();
  try {
    const reply = await cli.nc.request('dynlab.v1.sweep.get', new Uint8Array(), { timeout: 2000 });
    assert.equal(new TextDecoder().decode(reply.data), 'accepted');
    // A client that keeps the shared _INBOX prefix is refused its replies.
    const shared = await connect({
      servers: server.url,
      user: 'cli',
      pass: passwords.cli,
      timeout: 5000,
    });
    open.push(shared);
    assert.equal(
      await outcome(shared.request('dynlab.v1.sweep.get', new Uint8Array(), { timeout: 2000 })),
      'denied',
    );
  } finally {
    coordinator.stop();
  }
  // dynlab's bus picks the prefix from the user, also when the user is in the URL, as the CLI gives it.
  const url = new URL(server.url);
  url.username = 'cli';
  url.password = passwords.cli;
  const bus = await Bus.connect({ servers: url.toString(), name: 'test-cli-url' });
  try {
    assert.equal(bus.inboxPrefix, '_INBOX_cli');
    assert.deepEqual((await bus.jsm.streams.info('DYNLAB_RESULTS')).config.name, 'DYNLAB_RESULTS');
  } finally {
    await bus.close();
  }
});
