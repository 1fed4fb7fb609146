/**
 * Bad input: thousands of generated and mutated sweep specs (seeded, reproducible), through the
 * validator in process and through the coordinator's submit endpoint (the wire form via
 * client.submitRaw, and damaged bytes). What must hold: each is either accepted and recorded
 * (with jobs whose every trial a trainer would accept), or rejected with an ErrorInfo naming the
 * problem (VALIDATION with issue paths; DECODE for bytes that are not a request); the coordinator
 * never crashes; and a rejected spec leaves no trace (the job stream and the sweep bucket are
 * unchanged by it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streams, subjects } from '@dynlab/bus';
import { DynlabError, ValidationError } from '@dynlab/core';
import { CoordinatorMetricNames } from '@dynlab/metrics';
import { decode, v1 } from '@dynlab/proto';
import {
  compileSweep,
  defaultLimits,
  expandSweep,
  sweepToProto,
  trialAt,
  jobTrialsFromProto,
} from '@dynlab/spec';
import {
  fuzzSpec,
  lenientWire,
  mutateBytes,
  mutateWire,
  seededRng,
  validExamples,
} from './spec-fuzzer';
import { undecodable } from './bad-payloads';
import { healthy, scrape, metricSum } from './scrape-metrics';
import { startTestCluster } from './test-cluster';

const SEED = Number(process.env.DYNLAB_FUZZ_SEED ?? 20260801);
const limits = { ...defaultLimits, maxTrials: 2000 };

test('fuzz: 2500 generated and mutated specs through compileSweep: accepted with every trial valid, or a ValidationError naming each problem by path', () => {
  const r = seededRng(SEED);
  const tally = { accepted: 0, rejected: 0, comboRejected: 0 };
  const failures: string[] = [];
  for (let i = 0; i < 2500; i++) {
    const spec = fuzzSpec(r);
    const isObject = !!spec && typeof spec === 'object' && !Array.isArray(spec);
    try {
      const sweep = compileSweep(spec, limits);
      assert.ok(sweep.trialCount >= 1 && sweep.trialCount <= limits.maxTrials);
      try {
        // The first 300 trials and the last one build (a bigger sweep is sampled, for time).
        let n = 0;
        for (const _ of expandSweep(sweep, 'sw-fuzz')) if (++n >= 300) break;
        assert.equal(n, Math.min(300, sweep.trialCount));
        assert.ok(trialAt(sweep, 'sw-fuzz', sweep.trialCount - 1));
        tally.accepted++;
      } catch (err) {
        // Axis values valid one by one but not together: the coordinator rejects these at submit
        // (it expands the sweep before recording anything), naming the trial.
        if (
          !(err instanceof ValidationError) ||
          !err.issues.every((x) => x.path.startsWith('trial '))
        )
          throw err;
        tally.comboRejected++;
      }
    } catch (err) {
      if (
        err instanceof ValidationError &&
        err.issues.length > 0 &&
        err.issues.every(
          (x) => x.message && (x.path || /^unknown key/.test(x.message) || !isObject),
        )
      )
        tally.rejected++;
      else
        failures.push(
          `#${i} ${JSON.stringify(spec)?.slice(0, 300)}: ${(err as Error).name}: ${(err as Error).message.slice(0, 300)}`,
        );
    }
  }
  assert.deepEqual(failures.slice(0, 5), []);
  process.stderr.write(`spec-fuzz (validator): ${JSON.stringify(tally)} (seed ${SEED})\n`);
  assert.ok(
    tally.accepted > 200 && tally.rejected > 1500,
    `a fuzz that accepts or rejects almost nothing tests little: ${JSON.stringify(tally)}`,
  );
});

test(
  'fuzz: the submit endpoint with mutated wire specs and damaged bytes: accepted and recorded, or rejected naming the problem, never a crash or a partial enqueue',
  { timeout: 180_000 },
  async () => {
    const t = await startTestCluster({
      trainers: 0,
      noAnalyzer: true,
      env: { DYNLAB_MAX_TRIALS: String(limits.maxTrials) },
    });
    try {
      const { cluster, client } = t;
      const coordinator = cluster.coordinator;
      let coordinatorExited = false;
      void coordinator.exited.then(() => (coordinatorExited = true));
      const r = seededRng(SEED + 1);
      const lastSeq = async (stream: string) =>
        (await client.bus.jsm.streams.info(stream)).state.last_seq;
      const kvStream = 'KV_dynlab_sweeps';
      const accepted = new Map<string, number>();
      const tally = { accepted: 0, validation: 0, decode: 0, skipped: 0 };
      const failures: string[] = [];
      const validWire = validExamples().map((s) => sweepToProto(compileSweep(s, limits)));

      const send = async (label: string, bytes: Uint8Array) => {
        const jobs0 = await lastSeq(streams.jobs);
        const kv0 = await lastSeq(kvStream);
        const reply = decode(
          v1.SubmitSweepReply,
          (await client.bus.nc.request(subjects.sweepSubmit, bytes, { timeout: 60_000 })).data,
        );
        const jobs1 = await lastSeq(streams.jobs);
        const kv1 = await lastSeq(kvStream);
        const decodable = !undecodable(v1.SubmitSweepRequest, bytes);
        const fail = (why: string) => failures.push(`${label}: ${why}`);
        if (reply.error?.code) {
          if (jobs1 !== jobs0 || kv1 !== kv0)
            fail(
              `rejected (${reply.error.code}) but ${jobs1 - jobs0} jobs and ${kv1 - kv0} KV writes were made`,
            );
          if (!decodable) {
            if (reply.error.code !== 'DECODE')
              fail(`undecodable bytes answered ${reply.error.code}: ${reply.error.message}`);
            tally.decode++;
            return;
          }
          const issues = Object.entries(reply.error.details ?? {}).filter(([k]) =>
            k.startsWith('issue.'),
          );
          if (reply.error.code !== 'VALIDATION')
            fail(`answered ${reply.error.code}: ${(reply.error.message ?? '').slice(0, 300)}`);
          else if (issues.length === 0 || !issues.every(([, v]) => /^[^:]+: ./.test(v)))
            fail(`VALIDATION without issue paths: ${JSON.stringify(reply.error.details)}`);
          tally.validation++;
          return;
        }
        const st = reply.status;
        if (!st?.sweepId) return fail('neither an error nor a status');
        tally.accepted++;
        if (accepted.has(st.sweepId)) {
          if (jobs1 !== jobs0)
            fail(`a repeated submit of ${st.sweepId} enqueued ${jobs1 - jobs0} jobs`);
          return;
        }
        accepted.set(st.sweepId, st.counts?.jobs ?? 0);
        if (st.state !== v1.SweepState.SWEEP_STATE_RUNNING || !st.counts?.enqueued)
          fail(`accepted ${st.sweepId} but not running and enqueued: ${JSON.stringify(st.counts)}`);
        if (jobs1 - jobs0 !== st.counts?.jobs)
          fail(`accepted ${st.sweepId} with ${st.counts?.jobs} jobs, ${jobs1 - jobs0} published`);
        // Would run: every trial of its (first) jobs passes the trainer's own check.
        let trials = 0;
        for (let seq = jobs0 + 1; seq <= Math.min(jobs1, jobs0 + 10); seq++) {
          const job = v1.Job.decode(
            (await client.bus.jsm.streams.getMessage(streams.jobs, { seq })).data,
          );
          if (job.sweepId !== st.sweepId) fail(`job ${seq} belongs to ${job.sweepId}`);
          trials += jobTrialsFromProto(job).length; // throws as the trainer's check would
        }
        if (jobs1 - jobs0 <= 10 && trials !== st.counts?.total)
          fail(`${trials} trials in the jobs of ${st.sweepId}, total says ${st.counts?.total}`);
      };

      const started = Date.now();
      for (let i = 0; i < 1500; i++) {
        const spec = fuzzSpec(r);
        let wire =
          r() < 0.3
            ? mutateWire(r, validWire[Math.floor(r() * validWire.length)]!)
            : lenientWire(spec);
        if (!wire) {
          tally.skipped++;
          continue;
        }
        if (r() < 0.2) wire = mutateWire(r, wire);
        const req = { spec: wire, sweepId: '' };
        if (i % 2 === 0 && !v1.SubmitSweepRequest.verify(req)) {
          // The client's own path: submitRaw, its error rebuilt as the DynlabError it names.
          const jobs0 = await lastSeq(streams.jobs);
          try {
            const st = await client.submitRaw(wire);
            accepted.set(st.sweepId, st.counts?.jobs ?? 0);
            tally.accepted++;
            if ((await lastSeq(streams.jobs)) - jobs0 !== st.counts?.jobs)
              failures.push(
                `wire #${i}: accepted with ${st.counts?.jobs} jobs, a different number published`,
              );
          } catch (err) {
            if (
              !(err instanceof ValidationError) ||
              err.issues.length === 0 ||
              !err.issues.every((x) => x.path)
            )
              failures.push(
                `wire #${i}: ${(err as DynlabError).code}: ${(err as Error).message.slice(0, 300)}`,
              );
            else tally.validation++;
            if ((await lastSeq(streams.jobs)) !== jobs0)
              failures.push(`wire #${i}: rejected but jobs were published`);
          }
          continue;
        }
        await send(`wire #${i}`, v1.SubmitSweepRequest.encode(req).finish());
      }
      for (let i = 0; i < 800; i++) {
        const base = v1.SubmitSweepRequest.encode({
          spec: validWire[Math.floor(r() * validWire.length)]!,
          sweepId: '',
        }).finish();
        await send(`bytes #${i}`, mutateBytes(r, base));
      }
      const elapsed = (Date.now() - started) / 1000;

      assert.deepEqual(failures.slice(0, 5), []);
      assert.equal(coordinatorExited, false, 'the coordinator is still running');
      assert.ok(await healthy(coordinator.metricsPort));
      // Nothing but the accepted sweeps left a trace: their status keys, and exactly their jobs.
      const keys = new Set(
        await client.bus.js.views
          .kv('dynlab_sweeps')
          .then((kv) => kv.keys('sweep.*'))
          .then(async (it) => {
            const out: string[] = [];
            for await (const k of it) out.push(k.slice('sweep.'.length));
            return out;
          }),
      );
      assert.deepEqual([...keys].sort(), [...accepted.keys()].sort());
      const jobsInStream = (await client.bus.jsm.streams.info(streams.jobs)).state.messages;
      assert.equal(
        jobsInStream,
        [...accepted.values()].reduce((a, b) => a + b, 0),
      );
      const exp = await scrape(coordinator.metricsPort);
      assert.equal(
        metricSum(exp, CoordinatorMetricNames.malformedMessages, { kind: 'request' }),
        tally.decode,
      );
      assert.ok(
        tally.accepted > 20 && tally.validation > 300 && tally.decode > 50,
        JSON.stringify(tally),
      );
      process.stderr.write(
        `spec-fuzz (coordinator): ${JSON.stringify(tally)} in ${elapsed.toFixed(1)} s (seed ${SEED})\n`,
      );
    } finally {
      await t.stop();
    }
  },
);
