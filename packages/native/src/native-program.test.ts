/**
 * The native program's contract: typed errors for every shape mismatch (checked in TypeScript and
 * again in C++), idempotent dispose, a trial's numbers independent of its population and chunk,
 * divergence confined to the trial that diverged, frozen layers, and one addon per worker thread.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { DynlabError, ErrorCode } from '@dynlab/core';
import { compileTrial, quantities, type CompiledTrial, type TrialInput } from '@dynlab/spec';
import { batchRows, runReference } from '@dynlab/reference';
import { createNativeProgram, nativeConfig, nativeStatus, type NativeData } from './index';
import { loadAddon } from './native-addon';
import { fixtureData, fixtureParams } from './test-fixtures';

const n = 32;
const dim = 4;
const data = fixtureData(5, n, dim);

function trialOf(extra: Partial<TrialInput> = {}): CompiledTrial {
  return compileTrial({
    data: { inline: { n, dim, x: [...data.x], y: [...data.y] as (1 | -1)[] } },
    model: { kind: 'relu', hidden: [6], bias: true },
    steps: 50,
    record: {
      quantities: [...quantities],
      probes: [{ x: [1, 0, 0, 0] }],
    },
    ...extra,
  });
}

function isShapeError(err: unknown): boolean {
  return err instanceof DynlabError && err.code === ErrorCode.Shape;
}

test('the addon is available here and reports its BLAS', () => {
  const s = nativeStatus();
  assert.equal(s.available, true, s.reason);
  assert.match(s.reason, /BLAS threads set by/);
});

test('shape mismatches found in TypeScript are DynlabErrors with code SHAPE', () => {
  const t = trialOf();
  const p = fixtureParams(t, 1);
  const wrongN: NativeData = { ...data, n: n - 1, y: data.y.subarray(1) };
  assert.throws(() => createNativeProgram([t], [wrongN], [p]), isShapeError);
  assert.throws(
    () =>
      createNativeProgram(
        [t],
        [data],
        [{ ...p, weights: [p.weights[0]!.subarray(1), p.weights[1]!] }],
      ),
    isShapeError,
  );
  assert.throws(
    () =>
      createNativeProgram(
        [t, trialOf({ model: { kind: 'relu', hidden: [7], bias: true } })],
        [data, data],
        [p, p],
      ),
    isShapeError,
  );
  assert.throws(() => createNativeProgram([t], [data, data], [p]), isShapeError);
  assert.throws(() => createNativeProgram([], [], []), isShapeError);
  const program = createNativeProgram([t], [data], [p]);
  assert.throws(() => program.advance(1.5), isShapeError);
  assert.throws(() => program.advance(-1), isShapeError);
  program.dispose();
});

test('shape mismatches reaching C++ are errors with code SHAPE, never a crash', () => {
  const { addon } = loadAddon();
  assert.ok(addon);
  const t = trialOf();
  const good = nativeConfig([t], [data], [fixtureParams(t, 1)]);
  const build = (patch: (c: typeof good) => void) => {
    const c = structuredClone(good);
    patch(c);
    return () => new addon.Population(c.config, c.arrays);
  };
  const shape = (err: unknown) => (err as { code?: string }).code === 'SHAPE';
  assert.throws(
    build((c) => (c.arrays.x[0] = new Float32Array(3))),
    shape,
  );
  assert.throws(
    build((c) => (c.arrays.weights[1] = new Float32Array(5))),
    shape,
  );
  assert.throws(
    build((c) => (c.arrays.biases = [])),
    shape,
  );
  assert.throws(
    build((c) => (c.config.widths = Int32Array.of(4, 6, 2))),
    shape,
  );
  assert.throws(
    build((c) => (c.config.dataset = Int32Array.of(3))),
    shape,
  );
  assert.throws(
    build((c) => (c.arrays.hyper = new Float64Array(7))),
    shape,
  );
  assert.throws(
    build((c) => ((c.arrays as Record<string, unknown>).hyper = new Float32Array(8))),
    shape,
  );
  assert.throws(
    build((c) => (c.config.batchSize = n + 1)),
    shape,
  );
  assert.throws(
    build((c) => ((c.arrays as Record<string, unknown>).probes = new Float64Array(4))),
    shape,
  );
  const pop = build(() => undefined)();
  assert.throws(
    () =>
      pop.measure({
        loss: new Float32Array(2),
        error: new Float32Array(1),
        gradShare: new Float32Array(0),
        probeOutputs: new Float32Array(0),
        trainOutputs: new Float32Array(0),
        paramNorms: new Float32Array(0),
        deadUnits: new Float32Array(0),
      }),
    shape,
  );
  assert.throws(() => pop.advance(-1), shape);
  assert.throws(() => pop.divergedAt(new Int32Array(2)), shape);
  assert.throws(() => pop.readParams(2, new Float32Array(1), new Float32Array(1)), shape);
  pop.dispose();
});

test('dispose is idempotent and a disposed program refuses work with code BACKEND', () => {
  const t = trialOf();
  const program = createNativeProgram([t], [data], [fixtureParams(t, 1)]);
  assert.ok(program.bytes > 0);
  program.dispose();
  program.dispose();
  assert.equal(program.bytes, 0);
  assert.throws(
    () => program.measure(),
    (e: unknown) => e instanceof DynlabError && e.code === ErrorCode.Backend,
  );
  assert.throws(
    () => program.advance(1),
    (e: unknown) => e instanceof DynlabError && e.code === ErrorCode.Backend,
  );
});

test("a trial's numbers do not depend on its population, its place in it, or the chunk size", () => {
  const trials = Array.from({ length: 9 }, (_, p) =>
    trialOf({ seed: p, optimizer: { kind: 'momentum', learningRate: 0.02 + 0.01 * p } }),
  );
  const params = trials.map((t, p) => fixtureParams(t, 40 + p));
  const other = fixtureData(6, n, dim);
  const datas = trials.map((_, p) => (p % 3 === 2 ? other : data));
  const run = (idx: number[], chunk: string) => {
    process.env.DYNLAB_NATIVE_CHUNK = chunk;
    try {
      const program = createNativeProgram(
        idx.map((i) => trials[i]!),
        idx.map((i) => datas[i]!),
        idx.map((i) => params[i]!),
      );
      program.advance(50);
      const m = program.measure();
      program.dispose();
      return m;
    } finally {
      delete process.env.DYNLAB_NATIVE_CHUNK;
    }
  };
  const all = run([0, 1, 2, 3, 4, 5, 6, 7, 8], '4');
  for (const [p, chunk] of [
    [0, '1'],
    [4, '4'],
    [5, '8'],
    [8, '2'],
  ] as const) {
    const alone = run([p], chunk);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);
    assert.ok(
      rel(all.loss[p]!, alone.loss[0]!) <= 1e-6,
      `trial ${p}: ${all.loss[p]} in the population vs ${alone.loss[0]} alone`,
    );
    for (let i = 0; i < n; i++)
      assert.ok(
        rel(all.trainOutputs[p * n + i]!, alone.trainOutputs[i]!) <= 1e-5,
        `trial ${p} output ${i}`,
      );
  }
});

test('a diverging trial is marked at its first non-finite step and leaves the others alone', () => {
  const calm = trialOf({ loss: { kind: 'squared' } });
  const wild = trialOf({ loss: { kind: 'squared' }, optimizer: { learningRate: 1e15 } });
  const params = [fixtureParams(calm, 3), fixtureParams(wild, 3)];
  const together = createNativeProgram([calm, wild], [data, data], params);
  const alone = createNativeProgram([calm], [data], [params[0]!]);
  together.advance(40);
  alone.advance(40);
  const m = together.measure();
  const d = together.divergedAt();
  assert.equal(d[0], -1);
  assert.ok(d[1]! > 0 && d[1]! <= 40, `divergedAt ${d[1]}`);
  assert.deepEqual(Array.from(m.divergedAt), Array.from(d));
  assert.ok(!Number.isFinite(m.loss[1]!));
  assert.equal(m.loss[0], alone.measure().loss[0]);
  together.dispose();
  alone.dispose();
});

test('a non-finite parameter is divergence at step 0 for every loss, never hidden by the loss', () => {
  for (const kind of ['logistic', 'hinge', 'squared'] as const) {
    const t = trialOf({ loss: { kind } });
    const p = fixtureParams(t, 4);
    p.weights[1]![2] = Number.NaN;
    const program = createNativeProgram([t, t], [data, data], [p, fixtureParams(t, 5)]);
    const m = program.measure();
    program.advance(3);
    assert.deepEqual(Array.from(program.divergedAt()), [0, -1], kind);
    assert.ok(Number.isNaN(m.loss[0]!) && Number.isFinite(m.loss[1]!), `${kind}: ${m.loss}`);
    program.dispose();
  }
});

test('a frozen first layer stays put while its gradient share is still measured', () => {
  const t = trialOf({
    model: {
      kind: 'relu',
      hidden: [6],
      bias: true,
      trainable: [false, true],
      biasTrainable: [false, true],
    },
  });
  const p = fixtureParams(t, 9);
  const program = createNativeProgram([t], [data], [p]);
  program.advance(10);
  const m = program.measure();
  const after = program.readParams();
  program.dispose();
  assert.deepEqual(after.weights[0], p.weights[0]);
  assert.deepEqual(after.biases[0], p.biases[0]);
  assert.notDeepEqual(after.weights[1], p.weights[1]);
  const ref = runReference(t, data, p, [10])[0]!;
  ref.gradShare.forEach((g, j) =>
    assert.ok(Math.abs(m.gradShare[j]! - g) < 2e-5, `share ${j}: ${m.gradShare[j]} vs ${g}`),
  );
  assert.ok(Math.abs(m.loss[0]! - ref.loss) <= 1e-5 * ref.loss);
});

test('each worker thread loads its own addon and computes the same numbers', async () => {
  const t = trialOf();
  const p = fixtureParams(t, 2);
  const program = createNativeProgram([t], [data], [p]);
  program.advance(20);
  const here = program.measure().loss[0];
  program.dispose();
  const script = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { createNativeProgram, nativeStatus } = require(workerData.pkg);
    const program = createNativeProgram([workerData.t], [workerData.data], [workerData.p]);
    program.advance(20);
    parentPort.postMessage({ loss: program.measure().loss[0], status: nativeStatus() });
    program.dispose();`;
  const result = await new Promise<{ loss: number; status: { available: boolean } }>(
    (resolve, reject) => {
      const w = new Worker(script, {
        eval: true,
        workerData: {
          pkg: require.resolve('./index'),
          t: { ...t, quantities: t.quantities },
          data,
          p,
        },
      });
      w.once('message', resolve);
      w.once('error', reject);
    },
  );
  assert.equal(result.status.available, true);
  assert.equal(result.loss, here);
});

test("the addon's minibatch order is the specified one, and a program steps aside when the engine's differs", () => {
  const { addon } = loadAddon();
  for (const [seed, samples, b] of [
    [0, 10, 3],
    [7, 32, 5],
    [4294967295, 1000, 64],
  ] as const)
    for (const step of [0, 1, 5, 17, 400]) {
      const rows = new Int32Array(b);
      addon!.batchRows(seed, samples, b, step, rows);
      assert.deepEqual(
        Array.from(rows),
        batchRows(seed, samples, b, step),
        `seed ${seed} n ${samples} b ${b} step ${step}`,
      );
    }
  const t = trialOf({ optimizer: { kind: 'sgd', batchSize: 5 }, seed: 3 });
  const p = fixtureParams(t, 1);
  const agreeing = {
    batchIndices: (_: number, step: number) => Int32Array.from(batchRows(3, n, 5, step)),
  };
  createNativeProgram([t], [data], [p], agreeing).dispose();
  const differing = {
    batchIndices: (_: number, step: number) => Int32Array.from(batchRows(4, n, 5, step)),
  };
  assert.throws(
    () => createNativeProgram([t], [data], [p], differing),
    (e: unknown) =>
      e instanceof DynlabError &&
      e.code === ErrorCode.Backend &&
      e.details.unsupported === 'minibatch order',
  );
});

test('a program that is never disposed is freed by its finalizer when collected', () => {
  const script = `
    const { compileTrial } = require('@dynlab/spec');
    const { createNativeProgram } = require(${JSON.stringify(require.resolve('./index'))});
    const { loadAddon } = require(${JSON.stringify(require.resolve('./native-addon'))});
    const { fixtureData, fixtureParams } = require(${JSON.stringify(require.resolve('./test-fixtures'))});
    const t = compileTrial({ data: { gaussian: { n: 500, dim: 50 } }, model: { kind: 'relu', hidden: [100] } });
    const data = fixtureData(1, 500, 50);
    const live = () => loadAddon().addon.liveBytes();
    const settle = async () => { for (let k = 0; k < 5; k++) { global.gc(); await new Promise((r) => setImmediate(r)); } };
    (async () => {
      let p = createNativeProgram([t, t], [data, data], [1, 2].map((s) => fixtureParams(t, s)));
      p.advance(1);
      const held = live();
      const bytes = p.bytes;
      const disposed = createNativeProgram([t], [data], [fixtureParams(t, 3)]);
      disposed.dispose();
      p = null;
      await settle();
      console.log(JSON.stringify({ bytes, held, after: live() }));
    })();`;
  const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], {
    encoding: 'utf8',
    cwd: __dirname,
  });
  assert.equal(run.status, 0, run.stderr);
  const { bytes, held, after } = JSON.parse(run.stdout) as {
    bytes: number;
    held: number;
    after: number;
  };
  assert.ok(
    bytes > 500_000 && held === bytes,
    `the population holds ${bytes} bytes, the addon counts ${held}`,
  );
  assert.equal(after, 0);
});
