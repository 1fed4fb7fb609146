import { afterEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backendNames, initBackend } from './backend';

describe('initBackend', () => {
  afterEach(() => {
    delete process.env.DYNLAB_BACKEND;
  });

  it("'auto' picks the first backend that runs and says why each other one was not used", async () => {
    const info = await initBackend('auto');
    assert.ok(['native', 'wasm'].includes(info.name), `picked ${info.name}`);
    assert.deepEqual(
      Object.keys(info.unavailable).sort(),
      backendNames.filter((b) => b !== info.name).sort(),
    );
    for (const reason of Object.values(info.unavailable))
      assert.ok(typeof reason === 'string' && reason.length > 0);
    // On this machine libtensorflow could not be downloaded: tfjs-node's binding is missing.
    assert.match(info.unavailable.tensorflow!, /tfjs-node/);
  });

  it('switches the tfjs backend on request, and is idempotent', async () => {
    const cpu = await initBackend('cpu');
    assert.equal(cpu.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    const wasm = await initBackend('wasm');
    assert.equal(wasm.name, 'wasm');
    assert.match(wasm.detail, /SIMD on/);
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(await initBackend('wasm'), wasm);
  });

  it('lets DYNLAB_BACKEND override the preference and rejects a bad value with a code', async () => {
    process.env.DYNLAB_BACKEND = 'cpu';
    assert.equal((await initBackend('wasm')).name, 'cpu');
    process.env.DYNLAB_BACKEND = 'gpu';
    await assert.rejects(initBackend('wasm'), { code: 'CONFIG' });
  });

  it('throws BACKEND with the reason when a named backend cannot run', async (t) => {
    const auto = await initBackend('auto');
    if (!/binding .* is missing|not installed/.test(auto.unavailable.tensorflow ?? ''))
      return t.skip('tfjs-node can load on this machine');
    await assert.rejects(
      initBackend('tensorflow'),
      (err: Error & { code?: string }) => err.code === 'BACKEND' && /tfjs-node/.test(err.message),
    );
  });
});
