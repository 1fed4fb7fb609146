/**
 * Bad input that is well formed but too big or numerically wild. What must hold: a sweep over the
 * trial limit, a job over the memory estimate, a job or a request over the NATS max payload are
 * rejected at submit with an error whose code and message say which limit and by how much, and
 * nothing is enqueued; a diverging trial (a huge learning rate) ends as a normal `diverged` result
 * with its telemetry; NaN or Infinity in a spec (YAML `.nan`/`.inf`, or a NaN float on the wire) is a
 * validation error naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streams } from '@dynlab/bus';
import { DynlabError, ValidationError } from '@dynlab/core';
import { v1 } from '@dynlab/proto';
import { compileSweep, parseSpecText, sweepToProto } from '@dynlab/spec';
import { auditSweep } from './sweep-audit';
import { startTestCluster, type TestCluster } from './test-cluster';
import { tinySweep } from './tiny-sweep';

const features = { features: { n: 16, features: [{ frequency: 1 }, { frequency: 0.5 }] } };

/** The error a submit of `wire` gets, with the job stream checked to be untouched. */
async function rejection(t: TestCluster, wire: v1.ISweepSpec): Promise<DynlabError> {
  const jobs = async () => (await t.client.bus.jsm.streams.info(streams.jobs)).state.last_seq;
  const before = await jobs();
  const err = await t.client.submitRaw(wire).then(
    (st) => assert.fail(`accepted as ${st.sweepId}`),
    (e: unknown) => e as DynlabError,
  );
  assert.equal(await jobs(), before, 'nothing enqueued');
  return err;
}

const wireOf = (spec: unknown) =>
  sweepToProto(
    compileSweep(spec, {
      maxTrials: Infinity,
      maxPopulation: Infinity,
      maxSteps: Infinity,
      maxJobBytes: Infinity,
    }),
  );

test(
  'oversized and numerically wild input: rejected with the limit named, or a diverged result',
  { timeout: 180_000 },
  async (ctx) => {
    const t = await startTestCluster({
      trainers: 1,
      threads: 2,
      noAnalyzer: true,
      env: { DYNLAB_MAX_TRIALS: '1000' },
    });
    ctx.after(() => t.stop());

    await ctx.test('a sweep over the trial limit (also by 4e9 seeds on the wire)', async () => {
      const err = await rejection(t, wireOf({ ...tinySweep({ trials: 1004 }) }));
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues, [
        { path: 'axes', message: 'the sweep expands to 1004 trials, over the limit of 1000' },
      ]);
      const huge = await rejection(t, {
        ...wireOf(tinySweep({ trials: 4 })),
        seedCount: 4_000_000_000,
        seeds: [],
      });
      assert.ok(huge instanceof ValidationError);
      assert.deepEqual(huge.issues, [
        {
          path: 'axes',
          message: 'the sweep expands to 16000000000 trials, over the limit of 1000',
        },
      ]);
    });

    await ctx.test('a job over the memory estimate', async () => {
      const spec = {
        base: {
          data: { features: { n: 200_000, features: [{ frequency: 1 }] } },
          model: { kind: 'relu', hidden: [512] },
          steps: 10,
        },
        seeds: 64,
        population: 64,
      };
      const err = await rejection(t, wireOf(spec));
      assert.equal(err.code, 'VALIDATION');
      assert.deepEqual((err as ValidationError).issues, [
        {
          path: 'population',
          message: 'a job needs about 73.4 GiB, over the limit of 2.0 GiB (lower population)',
        },
      ]);
    });

    await ctx.test('a job over the NATS max payload', async () => {
      // 100,000 points of inline data are 800 kB per trial body. Seeds of one point share their
      // body in a job, so here every trial has its own (a learning-rate axis): a job of 16 trials
      // cannot be one message.
      const n = 100_000;
      const x = Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? 1 : -1) * ((i % 7) + 1));
      const y = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : -1));
      const spec = {
        base: { data: { inline: { n, dim: 2, x, y } }, model: { kind: 'linear' }, steps: 5 },
        axes: [
          {
            path: 'optimizer.learningRate',
            values: Array.from({ length: 16 }, (_, i) => 0.01 * (i + 1)),
          },
        ],
        seeds: 1,
        population: 16,
      };
      const err = await rejection(t, wireOf(spec));
      assert.equal(err.code, 'VALIDATION');
      const issues = (err as ValidationError).issues;
      assert.equal(issues.length, 1);
      assert.equal(issues[0]!.path, 'population');
      assert.match(
        issues[0]!.message,
        /^a job of 16 trials encodes to \d+ bytes, over the NATS max payload of 8388608: lower the population \(or the inline data\)$/,
      );
    });

    await ctx.test('a request over the NATS max payload', async () => {
      const n = 1_100_000; // 8.8 MB of floats
      const wire = {
        ...wireOf(tinySweep({ trials: 4 })),
        base: v1.TrialSpec.create({
          data: {
            inline: {
              n,
              dim: 2,
              x: new Array<number>(2 * n).fill(1),
              y: new Array<number>(n).fill(1),
            },
          },
        }),
      };
      const err = await t.client.submitRaw(wire).then(
        () => assert.fail('sent'),
        (e: unknown) => e as DynlabError,
      );
      assert.equal(err.code, 'TOO_LARGE');
      assert.equal(err.retryable, false);
      assert.match(
        err.message,
        /^dynlab\.v1\.SubmitSweepRequest of \d+ bytes exceeds the server's max payload \(8388608\)$/,
      );
    });

    await ctx.test(
      'NaN and Infinity in a spec: YAML .nan/.inf, and a NaN float on the wire, are validation errors naming the field',
      async () => {
        const yaml = [
          'base:',
          '  data: { inline: { n: 2, dim: 2, x: [1, .nan, -1, 0], y: [1, -1] } }',
          '  model: { kind: linear }',
          '  optimizer: { learningRate: .inf }',
          '  steps: 10',
        ].join('\n');
        const spec = parseSpecText(yaml, 'nan.yaml');
        assert.throws(
          () => compileSweep(spec),
          (e: unknown) =>
            e instanceof ValidationError &&
            e.issues.some((i) => i.path === 'base.data.inline.x[1]') &&
            e.issues.some((i) => i.path === 'base.optimizer.learningRate'),
        );
        const local = await t.client.submit(spec).then(
          () => assert.fail('accepted'),
          (e: unknown) => e as ValidationError,
        );
        assert.ok(local instanceof ValidationError, 'the client refuses it before sending');

        const wire = wireOf({
          base: {
            data: { inline: { n: 2, dim: 2, x: [1, 0, -1, 0], y: [1, -1] } },
            model: { kind: 'linear' },
            steps: 10,
          },
        });
        wire.base!.data!.inline!.x = [1, NaN, -1, 0];
        const err = await rejection(t, wire);
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(
          err.issues.map((i) => i.path),
          ['base.data.inline.x[1]'],
        );
      },
    );

    await ctx.test(
      'huge learning rates end as diverged results, with their telemetry, next to ordinary trials',
      async () => {
        const spec = {
          name: 'blow-up',
          base: {
            data: features,
            model: { kind: 'relu', hidden: [4] },
            init: { scale: 1 },
            steps: 200,
            record: { logPoints: 10 },
          },
          axes: [{ path: 'optimizer.learningRate', values: [0.1, 1e4, 1e8, 1e30] }],
          seeds: 4,
          population: 4,
        };
        const { status } = await t.client.submit(spec);
        const final = await t.client.waitFor(status.sweepId, {
          intervalMs: 200,
          timeoutMs: 60_000,
        });
        assert.equal(final.state, v1.SweepState.SWEEP_STATE_COMPLETE);
        assert.equal(final.counts?.ok, 4);
        assert.equal(final.counts?.diverged, 12);
        assert.equal(final.counts?.failed, 0);
        const audit = await auditSweep(t.client, status.sweepId, 16);
        assert.deepEqual(audit.problems, []);
        for await (const r of t.client.results(status.sweepId)) {
          const lr = Number(r.params['optimizer.learningRate']);
          assert.equal(
            r.status,
            lr === 0.1 ? v1.TrialStatus.TRIAL_STATUS_OK : v1.TrialStatus.TRIAL_STATUS_DIVERGED,
            `lr ${lr}`,
          );
          if (lr !== 0.1)
            assert.ok(r.stepsDone < 200, `lr ${lr}: diverged at step ${r.stepsDone} of 200`);
        }
      },
    );
  },
);
