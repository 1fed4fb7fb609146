/**
 * Populations whose full-batch passes are split over several threads (DYNLAB_NATIVE_THREADS, see
 * csrc/team.h), beyond the cross-backend matrix (native-vs-reference runs it on 1, 2 and 3
 * threads): the setting and its limits, a unit that is dead on one slice of the samples but not on
 * the other, more threads than samples, minibatch training beside split measurements, the canonical
 * shape against one thread, and that the result does not depend on which thread ran which slice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrial, quantities, type TrialInput } from '@dynlab/spec';
import { runReference } from '@dynlab/reference';
import { compareWithReference, matrixTrial } from './agreement';
import { createNativeProgram, defaultThreads, type NativeData, type NativeParams } from './index';
import { fixtureData, fixtureParams } from './test-fixtures';

/** Runs `fn` with DYNLAB_NATIVE_THREADS set to `threads` (unset for undefined). */
function withThreads<T>(threads: string | undefined, fn: () => T): T {
  const before = process.env.DYNLAB_NATIVE_THREADS;
  if (threads === undefined) delete process.env.DYNLAB_NATIVE_THREADS;
  else process.env.DYNLAB_NATIVE_THREADS = threads;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.DYNLAB_NATIVE_THREADS;
    else process.env.DYNLAB_NATIVE_THREADS = before;
  }
}

const inline = (d: NativeData) => ({
  inline: { n: d.n, dim: d.dim, x: [...d.x], y: [...d.y] as (1 | -1)[] },
});

test('DYNLAB_NATIVE_THREADS sets the slices of a pass: 1 by default, at most one per sample', () => {
  const data = fixtureData(1, 5, 3);
  const trial = compileTrial({
    data: inline(data),
    model: { kind: 'relu', hidden: [4], bias: true },
    steps: 10,
  });
  const lanes = (threads: string | undefined) =>
    withThreads(threads, () => {
      const program = createNativeProgram([trial], [data], [fixtureParams(trial, 1)]);
      const l = program.lanes;
      program.dispose();
      return [defaultThreads(), l];
    });
  assert.deepEqual(lanes(undefined), [1, 1]);
  assert.deepEqual(lanes('2'), [2, 2]);
  assert.deepEqual(lanes('3'), [3, 3]);
  assert.deepEqual(lanes('8'), [8, 5], 'five samples make five slices of one');
  for (const invalid of ['0', '-2', '1.5', 'two', '257', ''])
    assert.deepEqual(lanes(invalid), [1, 1], `DYNLAB_NATIVE_THREADS=${invalid}`);
});

test('more threads than samples, and minibatch steps beside split measurements: native = float64 reference', () => {
  const n = 5;
  const data = fixtureData(3, n, 3);
  for (const optimizer of [
    { kind: 'gd', learningRate: 0.1 },
    { kind: 'sgd', learningRate: 0.05, batchSize: 2 },
    { kind: 'adam', learningRate: 0.005, epsilon: 1e-4 },
  ]) {
    const base = matrixTrial(
      inline(data),
      n,
      { kind: 'relu', hidden: [4, 3], bias: true },
      'logistic',
      { weightDecay: 0.01 },
      optimizer,
    );
    const lanes = compareWithReference(
      [`deep relu ${optimizer.kind} trial 0`, `deep relu ${optimizer.kind} trial 1`],
      [
        { ...base, seed: 41 },
        { ...base, seed: 42 },
      ] as TrialInput[],
      [data, data],
      ['8', '4'],
    );
    assert.deepEqual(lanes, [5, 4]);
  }
});

test('a unit is dead only when it is dead on every slice of the samples', () => {
  // 32 samples split in two slices of 16: unit 0 (z = x0) is active on the second slice only,
  // unit 1 (bias -1, no weights) nowhere. So one of the two units is dead, on any split.
  const n = 32;
  const x = new Float32Array(n * 3);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i * 3] = i < 16 ? -1 - i / n : 0.5 + i / n;
    x[i * 3 + 1] = ((i * 7) % 5) / 5 - 0.5;
    x[i * 3 + 2] = ((i * 3) % 4) / 4 - 0.5;
    y[i] = i % 3 === 0 ? -1 : 1;
  }
  const data: NativeData = { x, y, n, dim: 3 };
  const trial = compileTrial({
    data: inline(data),
    model: { kind: 'relu', hidden: [2], bias: true },
    steps: 10,
    record: { quantities: [...quantities] },
  });
  const params: NativeParams = {
    weights: [Float32Array.of(1, 0, 0, 0, 0, 0), Float32Array.of(0.5, 0.5)],
    biases: [Float32Array.of(0, -1), Float32Array.of(0)],
  };
  const ref = runReference(trial, data, params, [0]);
  assert.deepEqual(ref[0]!.deadUnits, [0.5]);
  for (const threads of ['1', '2', '4'])
    withThreads(threads, () => {
      const program = createNativeProgram([trial], [data], [params]);
      assert.equal(program.lanes, Number(threads));
      const m = program.measure();
      program.dispose();
      assert.deepEqual(Array.from(m.deadUnits), [0.5], `on ${threads} thread(s)`);
      assert.equal(m.error[0], Math.fround(ref[0]!.error), `error on ${threads} thread(s)`);
    });
});

test('the canonical shape on two threads agrees with one thread, and a split run repeats exactly', () => {
  // D=100, N=1000, H=100 as in the benchmark (slices of 496 and 504 samples), four networks, one
  // of them on its own data, 30 steps.
  const n = 1000;
  const data = fixtureData(1, n, 100);
  const other = fixtureData(2, n, 100);
  const trial = compileTrial({
    data: { gaussian: { n, dim: 100 } },
    model: { kind: 'relu', hidden: [100], bias: true },
    loss: { kind: 'logistic' },
    optimizer: { kind: 'gd', learningRate: 0.1 },
    steps: 30,
    record: { every: 1, quantities: ['loss', 'error', 'gradShare', 'trainOutputs'] },
  });
  const trials = [trial, trial, trial, trial];
  const datas = [data, data, other, data];
  const params = trials.map((t, p) => fixtureParams(t, 7 + p));
  const run = (threads: string) =>
    withThreads(threads, () => {
      const program = createNativeProgram(trials, datas, params);
      assert.equal(program.lanes, Number(threads));
      program.advance(30);
      const m = program.measure();
      program.dispose();
      return m;
    });
  const one = run('1');
  const two = run('2');
  const again = run('2');
  for (const k of ['loss', 'error', 'gradShare', 'trainOutputs'] as const)
    assert.deepEqual(Array.from(again[k]), Array.from(two[k]), `${k}: two split runs differ`);
  const close = (what: string, a: Float32Array, b: Float32Array, rel: number) => {
    let scale = 0;
    for (const v of b) scale = Math.max(scale, Math.abs(v));
    a.forEach((v, i) =>
      assert.ok(Math.abs(v - b[i]!) <= rel * scale, `${what}[${i}]: ${v} vs ${b[i]} on one thread`),
    );
  };
  close('loss', two.loss, one.loss, 1e-6);
  close('gradShare', two.gradShare, one.gradShare, 1e-5);
  close('trainOutputs', two.trainOutputs, one.trainOutputs, 1e-5);
  assert.deepEqual(Array.from(two.error), Array.from(one.error));
});
