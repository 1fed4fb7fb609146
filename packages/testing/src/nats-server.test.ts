import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { startNats } from './nats-server';

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test('starts a real nats-server with JetStream, restarts on the same port, and cleans up', async () => {
  const nats = await startNats();
  try {
    assert.match(nats.version, /^2\.\d+\.\d+/);
    assert.equal(await reachable(nats.port), true);
    await nats.stop();
    assert.equal(await reachable(nats.port), false);
    await nats.restart();
    assert.equal(await reachable(nats.port), true);
    assert.ok(existsSync(nats.storeDir), 'JetStream store dir exists after a restart');
  } finally {
    await nats.cleanup();
  }
  assert.equal(await reachable(nats.port), false);
  assert.equal(existsSync(nats.storeDir), false);
});
