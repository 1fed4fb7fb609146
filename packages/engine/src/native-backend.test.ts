/**
 * The native backend (`@dynlab/native`, loaded at run time) behind the same runner: where it is
 * available it must give the numbers the tfjs program gives. Skipped where the addon is not built.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { loadNative } from './native-module';
import { runPopulation } from './run-population';
import { assertClose, makeTrial } from './test-support';

describe('native backend', () => {
  it('agrees with wasm on a mixed population (1e-4), outcomes included', async (t) => {
    if (!loadNative().module) return t.skip(`native unavailable: ${loadNative().reason}`);
    const trials = [
      makeTrial({ model: { hidden: [12] }, steps: 40, regularizer: { spectralDecoupling: 0.1 } }),
      makeTrial({
        model: { hidden: [12] },
        steps: 40,
        optimizer: { learningRate: 0.02 },
        init: { scale: 0.4 },
      }),
      makeTrial({ model: { hidden: [12] }, steps: 40, seed: 4 }),
    ];
    const native = await runPopulation(trials, { backend: 'native' });
    const wasm = await runPopulation(trials, { backend: 'wasm' });
    assert.equal(native.backend.name, 'native');
    native.outcomes.forEach((o, i) =>
      assert.deepEqual([o.status, o.stepsDone, o.backend], ['ok', 40, 'native'], `trial ${i}`),
    );
    native.telemetry!.forEach((c, i) => {
      const w = wasm.telemetry![i]!;
      assert.deepEqual(c.steps, w.steps);
      for (const k of [
        'loss',
        'gradShare',
        'probeOutputs',
        'trainOutputs',
        'paramNorms',
        'deadUnits',
      ] as const)
        assertClose(c[k], w[k], 1e-4, `trial ${i} ${k}`);
    });
  });
});
