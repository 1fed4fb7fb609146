/**
 * Gradient starvation on the papers' feature model: a frequent feature, present in every sample,
 * takes the gradient and keeps an equally informative rare feature from being learned. The
 * counterfactual is the same dataset with the frequent feature knocked out.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from './backend';
import { runPopulation } from './run-population';
import { makeTrial } from './test-support';

describe('gradient starvation', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it("the rare feature's probe output is much smaller with the frequent feature present than knocked out", async () => {
    const trial = (knockedOut: boolean) =>
      makeTrial({
        data: {
          features: {
            n: 200,
            features: [
              { frequency: 1, norm: 1, knockedOut },
              { frequency: 0.2, norm: 1 },
            ],
          },
          seed: 1,
        },
        model: { kind: 'relu', hidden: [32] },
        optimizer: { learningRate: 0.5 },
        steps: 300,
        record: { every: 100, quantities: ['loss', 'gradShare', 'probeOutputs'] },
      });
    const r = await runPopulation([trial(false), trial(true)], { backend: 'wasm' });
    const [full, knocked] = r.telemetry!;
    const rare = (t: typeof full) => t!.probeOutputs[t!.probeOutputs.length - 1]!;
    assert.ok(
      rare(full) < 0.4 * rare(knocked),
      `rare-feature output ${rare(full)} with the frequent feature, ${rare(knocked)} without`,
    );
    const share = (t: typeof full) => t!.gradShare[t!.gradShare.length - 1]!;
    assert.ok(
      share(full) < 0.1,
      `rare-feature gradient share ${share(full)} with the frequent feature present`,
    );
    assert.equal(share(knocked), 1);
    assert.ok(
      full!.loss[full!.loss.length - 1]! < 0.05,
      'the full dataset is fitted (by the frequent feature)',
    );
  });
});
