/**
 * The native backend inside the engine: the engine's runner (`runPopulation`) on `native` and on
 * `wasm`, and the float64 reference, on every model x loss x regularizer x optimizer, from the
 * engine's own data (`prepareData`) and initial parameters (`initParams`). Both float32 backends
 * must agree with the reference within the tolerances of agreement.ts, so they agree with each
 * other. Also: `auto` picks native here, this package satisfies the engine's `NativeModule` type,
 * and the addon's minibatch order is the engine's.
 *
 * One known deviation of the wasm backend is held to steps 0 and 1 only: its Adam forms 1 - beta1
 * and 1 - beta2 in float32 from float32 betas (1 - 0.999 becomes 1.3e-5 too small) while its bias
 * corrections use the exact betas, so every Adam step is ~6.5e-6 too long and the trajectory
 * drifts by ~1.5e-7 relative per step (a float64 reference with the same float32 (1 - beta) agrees
 * with wasm to 3e-7 over 50 steps). Native forms them in double and is held to the full bounds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrial } from '@dynlab/spec';
import {
  initBackend,
  initParams,
  minibatchSchedule,
  prepareData,
  runPopulation,
  type NativeModule,
} from '@dynlab/engine';
import { runReference } from '@dynlab/reference';
import * as native from './index';
import { loadAddon } from './native-addon';
import {
  agreementSteps,
  assertAgrees,
  rowValues,
  matrixModels,
  matrixOptimizers,
  matrixRegularizers,
  matrixTrial,
} from './agreement';

const n = 32;
const dim = 3;
const asEngineModule: NativeModule = native;

test("the engine's auto choice is native here, through its run-time require", async () => {
  assert.equal(typeof asEngineModule.createNativeProgram, 'function');
  const info = await initBackend('auto');
  assert.equal(info.name, 'native', JSON.stringify(info));
});

test("the addon's minibatch order is the engine's", () => {
  const { addon } = loadAddon();
  for (const [seed, samples, b] of [
    [0, 10, 3],
    [9, 64, 7],
    [123456, 1000, 100],
  ] as const) {
    const trial = compileTrial({
      data: { gaussian: { n: samples, dim: 2 } },
      model: { kind: 'linear' },
      optimizer: { kind: 'sgd', batchSize: b },
      seed,
    });
    const schedule = minibatchSchedule(trial);
    for (const step of [0, 1, 2, 9, 10, 11, 250]) {
      const ours = new Int32Array(b);
      addon!.batchRows(seed, samples, b, step, ours);
      assert.deepEqual(ours, schedule.at(step), `seed ${seed} n ${samples} b ${b} step ${step}`);
    }
  }
});

const init = { kind: 'gaussian' as const, scale: 1, fanIn: true, biasScale: 0.1 };

/** Three trials per regularizer: two sharing data (one at half the learning rate), one with its own. */
function population(base: ReturnType<typeof matrixTrial>) {
  return [
    compileTrial({ ...base, init, seed: 21 }),
    compileTrial({
      ...base,
      init,
      seed: 22,
      optimizer: { ...base.optimizer, learningRate: base.optimizer!.learningRate! * 0.5 },
    }),
    compileTrial({
      ...base,
      init,
      seed: 23,
      data: { gaussian: { n, dim, minMargin: 0.1 }, seed: 2 },
    }),
  ];
}

// Regularizer coefficients may differ inside a population, so each optimizer runs one population
// holding every regularizer (nine trials).
for (const [modelName, model] of Object.entries(matrixModels))
  for (const loss of ['logistic', 'hinge', 'squared'] as const)
    test(`native = wasm = float64 reference in the engine's runner: ${modelName}, ${loss}, every regularizer and optimizer`, async () => {
      for (const [optName, optimizer] of Object.entries(matrixOptimizers)) {
        const regs = Object.entries(matrixRegularizers);
        const data = { gaussian: { n, dim, minMargin: 0.1 }, seed: 1 };
        const trials = regs.flatMap(([, regularizer]) =>
          population(matrixTrial(data, n, model, loss, regularizer, optimizer)),
        );
        const onNative = await runPopulation(trials, { backend: 'native' });
        const onWasm = await runPopulation(trials, { backend: 'wasm' });
        assert.equal(onNative.backend.name, 'native');
        assert.equal(onWasm.backend.name, 'wasm');
        trials.forEach((t, p) => {
          const label = `${modelName}/${loss}/${regs[Math.floor(p / 3)]![0]}/${optName} trial ${p % 3}`;
          const ref = runReference(t, prepareData(t), initParams(t), agreementSteps);
          for (const [name, result] of [
            ['native', onNative],
            ['wasm', onWasm],
          ] as const) {
            const outcome = result.outcomes[p]!;
            assert.deepEqual(
              [outcome.status, outcome.stepsDone, outcome.backend],
              ['ok', 200, name],
              `${label} on ${name}`,
            );
            const c = result.telemetry![p]!;
            assert.deepEqual(c.steps, agreementSteps);
            const steps =
              name === 'wasm' && t.optimizer.kind === 'adam' ? 2 : agreementSteps.length;
            agreementSteps
              .slice(0, steps)
              .forEach((s, row) =>
                assertAgrees(
                  `${label} step ${s} on ${name}`,
                  t,
                  s,
                  rowValues(c, row, t),
                  ref[row]!,
                  ref[0]!,
                ),
              );
          }
        });
      }
    });
