/**
 * Bad input on the bus: random bytes, truncated messages and valid messages of the wrong type on
 * every subject a service listens to (the five coordinator requests; jobs, results, telemetry,
 * findings and dead letters in their streams; cancel notices; heartbeats, which no service reads).
 * What must hold: each bad message is counted on the service's malformed-message counter
 * (/metrics), each one taken from a stream is dead-lettered with its reason and its bytes, each
 * request gets an error reply, nothing of a real sweep changes, and every service keeps serving
 * (a normal sweep runs end to end afterwards).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isToken, streams, subjects } from '@dynlab/bus';
import { AnalyzerMetricNames, CoordinatorMetricNames, TrainerMetricNames } from '@dynlab/metrics';
import { decode, v1, type MessageType } from '@dynlab/proto';
import { waitFor } from '@dynlab/testing';
import { randomGarbage, truncated, undecodable } from './bad-payloads';
import { metricSum, scrape } from './scrape-metrics';
import { jobTrialMessages } from '@dynlab/spec';
import { seededRng } from './spec-fuzzer';
import { analyzerCaughtUp, startTestCluster, stillRunning } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const S = v1.SweepState;

test(
  'random, truncated and wrong-type messages on every subject: counted, dead-lettered with a reason, answered, and the services keep serving',
  { timeout: 180_000 },
  async () => {
    const t = await startTestCluster({
      trainers: 1,
      threads: 1,
      serviceEnv: { analyzer: { DYNLAB_ANALYZERS: '["failed-training"]' } },
    });
    try {
      const { cluster, client } = t;
      const bus = client.bus;
      const r = seededRng(8);
      const first = await client.submit(tinySweep({ trials: 16, steps: 100, name: 'before' }));
      const real = await client.waitFor(first.status.sweepId, {
        intervalMs: 200,
        timeoutMs: 60_000,
      });
      assert.equal(real.counts?.ok, 16);
      const sweepId = real.sweepId;
      const trialId = `${sweepId}-t000001`;

      // Valid messages of every type, to cut short or to send where another type is expected.
      const enc = <T>(type: MessageType<T>, m: Record<string, unknown>) =>
        (type as unknown as { encode(m: unknown): { finish(): Uint8Array } }).encode(m).finish();
      const chunk = {
        sweepId,
        trialId,
        chunkIndex: 0,
        last: true,
        steps: [1, 2],
        loss: [0.5, 0.4],
        jobId: 'x',
      };
      const msgs = {
        job: enc(v1.Job, {
          jobId: `${sweepId}-j99999`,
          sweepId,
          shape: 's',
          trials: [{ id: trialId, steps: 10 }],
        }),
        result: enc(v1.JobResult, {
          sweepId,
          jobId: 'x',
          results: [
            { sweepId, trialId, status: 1, finalLoss: 0.5, telemetryChunks: 1, jobId: 'x' },
          ],
        }),
        // What trainers published before results went out a job at a time.
        oldResult: enc(v1.TrialResult, {
          sweepId,
          trialId,
          status: 1,
          finalLoss: 0.5,
          telemetryChunks: 1,
          jobId: 'x',
        }),
        batch: enc(v1.TelemetryBatch, {
          sweepId,
          jobId: 'x',
          chunks: [chunk],
        }),
        // What trainers published before telemetry went out a job at a time.
        oldChunk: enc(v1.TelemetryChunk, chunk),
        finding: enc(v1.Finding, {
          analyzer: 'a',
          analyzerVersion: '1',
          sweepId,
          kind: 'k',
          findingId: 'f-x',
          message: 'm',
        }),
        heartbeat: enc(v1.ServiceHeartbeat, {
          service: 'trainer',
          instance: 'i',
          busy: 1,
          capacity: 2,
        }),
        cancel: enc(v1.CancelNotice, { sweepId }),
        submit: enc(v1.SubmitSweepRequest, { spec: { name: 'x', seedCount: 1 }, sweepId: 'sw-x' }),
        deadLetter: enc(v1.DeadLetter, {
          subject: 'dynlab.v1.jobs.x',
          stream: 'DYNLAB_JOBS',
          reason: 'r',
          payload: new Uint8Array([1]),
        }),
      };
      const bad = <T>(type: MessageType<T>, valid: Uint8Array, wrong: Uint8Array[]) => [
        ...randomGarbage(r, type, 3),
        truncated(type, valid),
        ...wrong,
      ];

      // Streams: each bad message must come back as a dead letter with its subject, bytes and a reason.
      const streamCases = [
        {
          subject: subjects.jobs('sw-garbage'),
          payloads: bad(v1.Job, msgs.job, [msgs.cancel, msgs.submit]),
        },
        {
          subject: subjects.results(sweepId),
          payloads: bad(v1.JobResult, msgs.result, [msgs.cancel, msgs.submit, msgs.oldResult]),
        },
        {
          subject: subjects.telemetry(sweepId, 'x'),
          payloads: bad(v1.TelemetryBatch, msgs.batch, [
            msgs.heartbeat,
            msgs.cancel,
            msgs.oldChunk,
          ]),
        },
        {
          subject: subjects.findings(sweepId),
          payloads: bad(v1.Finding, msgs.finding, [msgs.job, msgs.cancel]),
        },
        { subject: subjects.deadLetter('test'), payloads: bad(v1.DeadLetter, msgs.deadLetter, []) },
      ];
      const before = {
        coordinator: await scrape(cluster.coordinator.metricsPort),
        trainer: await scrape(cluster.trainers[0]!.metricsPort),
        analyzer: await scrape(cluster.analyzer!.metricsPort),
      };
      const deadBefore = (await bus.jsm.streams.info(streams.deadLetter)).state.last_seq;
      for (const c of streamCases) for (const p of c.payloads) await bus.js.publish(c.subject, p);

      // Cancel notices (core NATS): undecodable ones, and valid-looking notices for sweeps that are not cancelled.
      const cancelBad = bad(
        v1.CancelNotice,
        enc(v1.CancelNotice, { sweepId: 'sw-a-much-longer-sweep-id' }),
        [msgs.result, msgs.heartbeat],
      );
      for (const p of cancelBad) bus.nc.publish(subjects.cancel(sweepId), p);
      // Heartbeats: no service reads them; garbage there must simply change nothing.
      for (const p of randomGarbage(r, v1.ServiceHeartbeat, 3))
        bus.nc.publish(subjects.heartbeat('trainer', 'bogus'), p);

      // Requests: every one is answered with an error naming the problem.
      const requestCases: [string, MessageType<unknown>, Uint8Array][] = [
        [subjects.sweepSubmit, v1.SubmitSweepRequest, msgs.submit],
        [subjects.sweepGet, v1.GetSweepRequest, enc(v1.GetSweepRequest, { sweepId })],
        [subjects.sweepList, v1.ListSweepsRequest, enc(v1.ListSweepsRequest, { limit: 300 })],
        [
          subjects.sweepCancel,
          v1.CancelSweepRequest,
          enc(v1.CancelSweepRequest, { sweepId: 'sw-not-there' }),
        ],
        [
          subjects.sweepResume,
          v1.ResumeSweepRequest,
          enc(v1.ResumeSweepRequest, { sweepId: 'sw-not-there' }),
        ],
      ];
      let undecodableRequests = 0;
      for (const [subject, type, valid] of requestCases) {
        for (const p of bad(type, valid, [])) {
          const reply = decode(
            v1.GetSweepReply,
            (await bus.nc.request(subject, p, { timeout: 10_000 })).data,
          );
          assert.equal(reply.error?.code, 'DECODE', `${subject}: ${reply.error?.message}`);
          undecodableRequests++;
        }
        // A finding's bytes read as a request name a sweep 'a': not found.
        const reply = decode(
          v1.GetSweepReply,
          (await bus.nc.request(subject, msgs.finding, { timeout: 10_000 })).data,
        );
        if (reply.error?.code === 'DECODE') undecodableRequests++;
        assert.ok(
          reply.error?.code === 'NOT_FOUND' ||
            reply.error?.code === 'VALIDATION' ||
            reply.error?.code === 'DECODE' ||
            (subject === subjects.sweepList && reply.error === null),
          `${subject}: ${JSON.stringify(reply.error)}`,
        );
      }

      const n = (subject: string) =>
        streamCases.find((c) => c.subject === subject)!.payloads.length;
      // The coordinator also reads every dead letter of a job: those whose bytes are not a job
      // (undecodable, or no trials or sweep to mark failed) count there too.
      const notJobs = streamCases[0]!.payloads.filter((p) => {
        if (undecodable(v1.Job, p)) return true;
        const job = v1.Job.decode(p);
        return jobTrialMessages(job).length === 0 || !isToken(job.sweepId);
      }).length;
      const services = {
        coordinator: [cluster.coordinator.metricsPort, CoordinatorMetricNames.malformedMessages],
        trainer: [cluster.trainers[0]!.metricsPort, TrainerMetricNames.malformedMessages],
        analyzer: [cluster.analyzer!.metricsPort, AnalyzerMetricNames.malformedMessages],
      } as const;
      const counted = (service: keyof typeof services, kind: string) => async () => {
        const [port, name] = services[service];
        return (
          metricSum(await scrape(port), name, { kind }) - metricSum(before[service], name, { kind })
        );
      };
      const expected: [string, () => Promise<number>, number][] = [
        ['coordinator request', counted('coordinator', 'request'), undecodableRequests],
        ['coordinator result', counted('coordinator', 'result'), n(subjects.results(sweepId))],
        ['coordinator finding', counted('coordinator', 'finding'), n(subjects.findings(sweepId))],
        [
          'coordinator deadletter',
          counted('coordinator', 'deadletter'),
          n(subjects.deadLetter('test')) + notJobs,
        ],
        ['trainer job', counted('trainer', 'job'), n(subjects.jobs('sw-garbage'))],
        ['trainer control', counted('trainer', 'control'), cancelBad.length],
        [
          'analyzer telemetry',
          counted('analyzer', 'telemetry'),
          n(subjects.telemetry(sweepId, 'x')),
        ],
        ['analyzer result', counted('analyzer', 'result'), n(subjects.results(sweepId))],
      ];
      const got: Record<string, number> = {};
      await waitFor(
        async () => {
          for (const [what, read] of expected) got[what] = await read();
          return expected.every(([what, , want]) => got[what]! >= want);
        },
        'every malformed message to be counted',
        20_000,
        250,
      ).catch(() => undefined);
      assert.deepEqual(got, Object.fromEntries(expected.map(([what, , want]) => [what, want])));
      process.stderr.write(`malformed-messages: counted ${JSON.stringify(got)}\n`);

      // Every bad stream message is in the dead-letter stream with its subject, its bytes and a reason.
      const dead: v1.DeadLetter[] = [];
      const deadLetterOf = (subject: string, p: Uint8Array) =>
        dead.find((x) => x.subject === subject && Buffer.from(x.payload).equals(Buffer.from(p)));
      await waitFor(
        async () => {
          dead.length = 0;
          // The stream also holds the garbage this test published on a dead-letter subject: skip what does not decode.
          for await (const d of client.read(streams.deadLetter, subjects.deadLetterAll, (b) =>
            undecodable(v1.DeadLetter, b) ? null : v1.DeadLetter.decode(b),
          ))
            if (d) dead.push(d);
          return streamCases.every((c) => c.payloads.every((p) => deadLetterOf(c.subject, p)));
        },
        'the dead letters',
        20_000,
        250,
      ).catch(() => undefined);
      for (const c of streamCases)
        for (const p of c.payloads) {
          const d = deadLetterOf(c.subject, p);
          assert.ok(
            d,
            `no dead letter for a bad message on ${c.subject} (${Buffer.from(p).toString('hex').slice(0, 40)}); dead letters there: ${dead
              .filter((x) => x.subject === c.subject)
              .map(
                (x) =>
                  `${x.reason.slice(0, 80)} ${Buffer.from(x.payload).toString('hex').slice(0, 50)}`,
              )
              .join(' / ')}`,
          );
          assert.ok(
            d.reason.length > 0 && d.error?.code,
            `dead letter without a reason on ${c.subject}`,
          );
        }
      assert.ok((await bus.jsm.streams.info(streams.deadLetter)).state.last_seq > deadBefore);

      // Nothing of the real sweep changed, and every service still serves: a new sweep runs end to end.
      const still = (await client.get(sweepId)).status;
      assert.equal(still.state, S.SWEEP_STATE_COMPLETE);
      assert.deepEqual(still.counts, real.counts);
      // Reading the sweep back skips what does not decode instead of failing the whole read.
      const readBack = new Set<string>();
      for await (const r of client.results(sweepId))
        if (r.status === v1.TrialStatus.TRIAL_STATUS_OK) readBack.add(r.trialId);
      for (let i = 0; i < 16; i++)
        assert.ok(readBack.has(`${sweepId}-t${String(i).padStart(6, '0')}`));
      assert.ok(client.undecodable > 0, 'the garbage on the results subject was skipped');
      const after = await client.submit(tinySweep({ trials: 16, steps: 100, name: 'after' }));
      const done = await client.waitFor(after.status.sweepId, {
        intervalMs: 200,
        timeoutMs: 60_000,
      });
      assert.equal(done.counts?.ok, 16);
      await analyzerCaughtUp(bus);
      for (const p of [cluster.coordinator, cluster.trainers[0]!, cluster.analyzer!])
        assert.ok(await stillRunning(p), `${p.name} is still running`);
    } finally {
      await t.stop();
    }
  },
);
