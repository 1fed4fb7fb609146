/**
 * The runner and the tfjs program together, on the wasm backend: population independence,
 * determinism, agreement with the float64 reference for every optimizer, divergence, the hinge
 * margin, cancellation, chunking and memory.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { runReference } from '@dynlab/reference';
import {
  appendColumns,
  emptyColumns,
  quantities,
  type CompiledTrial,
  type TelemetryColumns,
} from '@dynlab/spec';
import { initBackend } from './backend';
import { initParams } from './init-params';
import { programHelpers, prepareShared, runPopulation, runTrial } from './run-population';
import { prepareData } from './prepare-data';
import { createTfjsProgram } from './tfjs-program';
import { assertClose, makeTrial } from './test-support';

function assertSameSeries(
  a: TelemetryColumns,
  b: TelemetryColumns,
  tol: number,
  what: string,
): void {
  assert.deepEqual(a.steps, b.steps, `${what}: steps`);
  for (const k of quantities) assertClose(a[k], b[k], tol, `${what}.${k}`);
}

describe('runPopulation on wasm', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('gives every trial the numbers it gets alone (1e-5), whatever else shares its population', async () => {
    const base = { model: { hidden: [16] }, steps: 30, optimizer: { learningRate: 0.3 } };
    const trials = [
      makeTrial(base),
      makeTrial({ ...base, optimizer: { learningRate: 0.05 } }),
      makeTrial({ ...base, init: { scale: 0.5 } }),
      makeTrial({ ...base, regularizer: { spectralDecoupling: 0.2, weightDecay: 0.01 } }),
      makeTrial({ ...base, seed: 11 }),
      makeTrial({
        ...base,
        data: {
          features: { n: 64, features: [{ frequency: 0.5 }, { frequency: 1, norm: 0.5 }] },
          seed: 5,
        },
      }),
    ];
    const together = await runPopulation(trials, { backend: 'wasm' });
    for (const [i, t] of trials.entries()) {
      const alone = await runTrial(t, { backend: 'wasm' });
      assert.equal(together.outcomes[i]!.status, 'ok');
      assertSameSeries(together.telemetry![i]!, alone.telemetry, 1e-5, `trial ${i}`);
    }
  });

  it('is deterministic: same seed same numbers, another seed other numbers', async () => {
    const a = await runTrial(makeTrial({ seed: 1 }), { backend: 'wasm' });
    const b = await runTrial(makeTrial({ seed: 1 }), { backend: 'wasm' });
    const c = await runTrial(makeTrial({ seed: 2 }), { backend: 'wasm' });
    assert.deepEqual(a.telemetry, b.telemetry);
    assert.notDeepEqual(a.telemetry.loss, c.telemetry.loss);
  });

  const referenceCases: [string, Parameters<typeof makeTrial>[0]][] = [
    [
      'relu gd, logistic, spectral decoupling and weight decay',
      {
        regularizer: { spectralDecoupling: 0.1, weightDecay: 0.02 },
        optimizer: { learningRate: 0.5 },
      },
    ],
    [
      'deep linear momentum, squared, sum',
      {
        model: { kind: 'deepLinear', hidden: [3, 2] },
        loss: { kind: 'squared', reduction: 'sum' },
        optimizer: { kind: 'momentum', learningRate: 0.002, momentum: 0.8 },
      },
    ],
    [
      'linear adam, hinge margin 0.5',
      {
        model: { kind: 'linear', hidden: [], bias: true },
        loss: { kind: 'hinge', margin: 0.5 },
        optimizer: { kind: 'adam', learningRate: 0.05 },
      },
    ],
    [
      'relu [4,3] sgd minibatches, biases',
      {
        model: { hidden: [4, 3], bias: true },
        init: { biasScale: 0.1, scale: 0.5 },
        optimizer: { kind: 'sgd', batchSize: 16, learningRate: 0.2 },
      },
    ],
    [
      'relu, frozen first layer, adam minibatches',
      {
        model: { hidden: [5], trainable: [false, true] },
        optimizer: { kind: 'adam', batchSize: 10, learningRate: 0.01 },
      },
    ],
  ];
  for (const [name, over] of referenceCases) {
    it(`matches the float64 reference: ${name}`, async () => {
      const trial = makeTrial(over);
      const got = await runTrial(trial, { backend: 'wasm' });
      const ref = runReference(trial, prepareData(trial), initParams(trial), got.telemetry.steps);
      assert.equal(got.outcome.status, 'ok');
      const col = (k: 'loss' | 'gradShare' | 'probeOutputs' | 'paramNorms' | 'trainOutputs') =>
        ref.flatMap((m) => (k === 'loss' ? [m.loss] : m[k]));
      for (const k of ['loss', 'gradShare', 'probeOutputs', 'paramNorms', 'trainOutputs'] as const)
        assertClose(got.telemetry[k], col(k), 2e-4, k);
      assert.deepEqual(
        got.telemetry.deadUnits,
        trial.model.kind === 'relu' ? ref.flatMap((m) => m.deadUnits.map(Math.fround)) : [],
      );
    });
  }

  it('ends a diverging trial as diverged with its finite record, and leaves the others alone', async () => {
    const ok = makeTrial({ loss: { kind: 'squared' }, steps: 40, record: { every: 1 } });
    const wild = makeTrial({
      loss: { kind: 'squared' },
      steps: 40,
      record: { every: 1 },
      optimizer: { learningRate: 50 },
    });
    const r = await runPopulation([ok, wild], { backend: 'wasm' });
    const [o, w] = r.outcomes;
    assert.equal(o!.status, 'ok');
    assert.equal(w!.status, 'diverged');
    assert.ok(w!.stepsDone > 0 && w!.stepsDone < 40, `diverged at ${w!.stepsDone}`);
    const t = r.telemetry![1]!;
    assert.equal(t.steps.length, w!.stepsDone, 'one row per step before the divergence');
    assert.ok(t.loss.every(Number.isFinite) && Number.isFinite(w!.finalLoss));
    assert.equal(w!.finalLoss, t.loss[t.loss.length - 1]);
    assertSameSeries(
      r.telemetry![0]!,
      (await runTrial(ok, { backend: 'wasm' })).telemetry,
      1e-5,
      'the finite trial',
    );
  });

  it('hinge loss stops at the margin: zero loss, every y*f >= margin, parameters frozen from then on', async () => {
    const trial = makeTrial({
      model: { kind: 'relu', hidden: [8] },
      loss: { kind: 'hinge', margin: 1.5 },
      steps: 400,
      optimizer: { learningRate: 0.2 },
      record: { every: 50 },
    });
    const { outcome, telemetry } = await runTrial(trial, { backend: 'wasm' });
    const { y } = prepareData(trial);
    const n = trial.data.n;
    assert.equal(outcome.finalLoss, 0);
    const last = telemetry.trainOutputs.slice(-n);
    last.forEach((f, i) => assert.ok(y[i]! * f >= 1.5, `y*f = ${y[i]! * f} at sample ${i}`));
    const L = telemetry.layers;
    const rows = telemetry.steps.length;
    assert.deepEqual(
      telemetry.paramNorms.slice((rows - 2) * L, (rows - 1) * L),
      telemetry.paramNorms.slice((rows - 1) * L),
    );
    assert.ok(
      telemetry.gradShare.slice(-2).every((g) => g === 0),
      'no gradient once every margin is met',
    );
  });

  it('emits chunks of chunkPoints rows and one last chunk per trial, adding up to the full series', async () => {
    const trials = [
      makeTrial({ steps: 23, record: { every: 1 } }),
      makeTrial({ steps: 23, record: { every: 1 }, seed: 8 }),
    ];
    const got = trials.map(() => emptyColumns());
    const calls: [number, number, boolean][] = [];
    const r = await runPopulation(trials, {
      backend: 'wasm',
      chunkPoints: 10,
      onTelemetry: (i, chunk, last) => {
        calls.push([i, chunk.steps.length, last]);
        appendColumns(got[i]!, chunk);
      },
    });
    assert.equal(r.telemetry, undefined);
    for (const i of [0, 1])
      assert.deepEqual(
        calls.filter((c) => c[0] === i).map((c) => [c[1], c[2]]),
        [
          [10, false],
          [10, false],
          [4, true],
        ],
      );
    for (const [i, t] of trials.entries())
      assertSameSeries(
        got[i]!,
        (await runTrial(t, { backend: 'wasm' })).telemetry,
        0,
        `trial ${i}`,
      );
  });

  it('cancels between steps: trials end cancelled with what was recorded', async () => {
    const ctl = new AbortController();
    const trial = makeTrial({ steps: 1000, record: { every: 1 } });
    const r = await runPopulation([trial], {
      backend: 'wasm',
      signal: ctl.signal,
      chunkPoints: 3,
      onTelemetry: () => ctl.abort(),
    });
    const o = r.outcomes[0]!;
    assert.equal(o.status, 'cancelled');
    assert.ok(o.stepsDone >= 2 && o.stepsDone < 1000, `stopped at ${o.stepsDone}`);
    assert.ok(Number.isFinite(o.finalLoss));
  });

  it('reports progress, and rejects a population of mixed shapes', async () => {
    const seen: number[] = [];
    await runPopulation([makeTrial()], {
      backend: 'wasm',
      onProgress: (done, total) => seen.push(done, total),
    });
    assert.deepEqual(seen.slice(-2), [20, 20]);
    await assert.rejects(runPopulation([makeTrial(), makeTrial({ steps: 21 })]), {
      code: 'VALIDATION',
    });
  });

  it('keeps gradient shares normalized and a frozen identity first layer unchanged', async () => {
    const trial = makeTrial({
      model: { hidden: [2], trainable: [false, true] },
      init: { layers: [{ layer: 0, weights: [1, 0, 0, 1] }] },
    });
    const { telemetry } = await runTrial(trial, { backend: 'wasm' });
    for (let r = 0; r < telemetry.steps.length; r++) {
      const row = telemetry.gradShare.slice(r * 2, r * 2 + 2);
      assert.ok(Math.abs(row[0]! + row[1]! - 1) < 1e-6);
      assert.equal(telemetry.paramNorms[r * 2], Math.fround(Math.SQRT2));
    }
  });

  for (const optimizer of [{ kind: 'adam' }, { kind: 'sgd', batchSize: 16 }] as const) {
    it(`holds the number of live tensors flat across steps and measurements (${optimizer.kind})`, () => {
      const trials: CompiledTrial[] = [
        makeTrial({ optimizer, model: { hidden: [4, 3], bias: true } }),
        makeTrial({ optimizer, model: { hidden: [4, 3], bias: true }, seed: 9 }),
      ];
      const before = tf.memory().numTensors;
      const program = createTfjsProgram(
        trials,
        prepareShared(trials),
        trials.map(initParams),
        programHelpers(trials),
      );
      program.advance(2);
      program.measure();
      program.advance(1);
      const count = tf.memory().numTensors;
      for (let k = 0; k < 3; k++) {
        program.advance(3);
        program.measure();
        program.advance(1);
        assert.equal(tf.memory().numTensors, count, `after round ${k}`);
      }
      program.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
