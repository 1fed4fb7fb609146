/**
 * The native backend against the float64 reference (`@dynlab/reference`) on every model x loss x
 * regularizer x optimizer, each as a population of three trials (two sharing their data, so they
 * fold into one GEMM, one with its own data, different learning rates and seeds), recorded at
 * steps 0, 1, 50 and 200, within the tolerances stated in agreement.ts. Each population runs on one
 * thread and with its samples split over two and three threads (DYNLAB_NATIVE_THREADS, see
 * csrc/team.h: N = 24 makes slices of 12 and of 8, the wide case below uneven ones at multiples of
 * 16), and every run is held to the reference.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrialInput } from '@dynlab/spec';
import type { NativeData } from './index';
import {
  compareWithReference as compare,
  matrixTrial,
  matrixModels as models,
  matrixOptimizers as optimizers,
  matrixRegularizers as regularizers,
} from './agreement';
import { fixtureData } from './test-fixtures';

const n = 24;
const dim = 3;

const shared = fixtureData(1, n, dim);
const own = fixtureData(2, n, dim);
const inline = (d: NativeData) => ({ inline: { n, dim, x: [...d.x], y: [...d.y] as (1 | -1)[] } });

// Regularizer coefficients may differ inside a population, so each optimizer runs one population
// holding every regularizer (nine trials).
for (const [modelName, model] of Object.entries(models))
  for (const loss of ['logistic', 'hinge', 'squared'] as const)
    test(`native = float64 reference: ${modelName}, ${loss}, every regularizer and optimizer`, () => {
      for (const [optName, optimizer] of Object.entries(optimizers)) {
        const regs = Object.entries(regularizers);
        const inputs = regs.flatMap(([, regularizer]): TrialInput[] => {
          const base = matrixTrial(inline(shared), n, model, loss, regularizer, optimizer);
          const half = { ...base.optimizer, learningRate: base.optimizer!.learningRate! * 0.5 };
          return [
            { ...base, seed: 11 },
            { ...base, seed: 12, optimizer: half },
            { ...base, seed: 13, data: inline(own) },
          ];
        });
        const names = regs.flatMap(([reg]) =>
          [0, 1, 2].map((k) => `${modelName}/${loss}/${reg}/${optName} trial ${k}`),
        );
        const lanes = compare(
          names,
          inputs,
          regs.flatMap(() => [shared, shared, own]),
          ['1', '2', '3'],
        );
        assert.deepEqual(lanes, [1, 2, 3]);
      }
    });

// The fused last-layer pass (lastLayer() in csrc/kernels.cc) runs over blocks of 131072 / H
// samples: at H = 1101 that is 112, so N = 300 makes two full blocks and a partial one, and 1101
// rows leave one row after the groups of four. The matrix above (N = 24, H <= 6) is one block.
// Split over two threads, the slices are 144 and 156 samples; over three, 96, 96 and 108.
test('native = float64 reference when the fused last-layer pass runs in several sample blocks', () => {
  const N = 300;
  const wide = fixtureData(4, N, dim);
  const base = matrixTrial(
    { inline: { n: N, dim, x: [...wide.x], y: [...wide.y] as (1 | -1)[] } },
    N,
    { kind: 'relu', hidden: [1101], bias: true },
    'logistic',
    {},
    optimizers.gd,
  );
  compare(
    ['wide relu trial 0', 'wide relu trial 1'],
    [
      { ...base, seed: 31 },
      { ...base, seed: 32, optimizer: { ...base.optimizer, learningRate: 0.05 } },
    ] as TrialInput[],
    [wide, wide],
    ['1', '2', '3'],
  );
});
