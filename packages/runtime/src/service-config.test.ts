import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@dynlab/core';
import { CommonConfigSchema, loadConfig } from './service-config';

test('defaults, then file, then environment, then flags', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    'nats:\n  url: nats://file:4222\nmetrics:\n  port: 1000\nlog:\n  level: warn\n',
  );
  const cfg = await loadConfig(CommonConfigSchema, {
    file,
    env: {
      DYNLAB_METRICS_PORT: '2000',
      DYNLAB_LOG_PRETTY: '1',
      DYNLAB_NATS_CREATE_TOPOLOGY: 'false',
    },
    overrides: { 'metrics.port': 3000 },
  });
  assert.equal(cfg.nats.url, 'nats://file:4222');
  assert.equal(cfg.metrics.port, 3000);
  assert.equal(cfg.log.level, 'warn');
  assert.equal(cfg.log.pretty, true);
  assert.equal(cfg.topology.create, false);
  assert.equal(cfg.topology.jobMaxDeliver, 5);
});

test('every bad value is named with its path and the variable it came from', async () => {
  await assert.rejects(
    loadConfig(CommonConfigSchema, {
      env: { DYNLAB_METRICS_PORT: 'abc', DYNLAB_LOG_LEVEL: 'loud' },
      overrides: { 'topology.jobMaxDeliver': 0, bogus: 1 },
    }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.issues.map((i) => i.path).sort(),
        [
          '',
          'log.level (from DYNLAB_LOG_LEVEL)',
          'metrics.port (from DYNLAB_METRICS_PORT)',
          'topology.jobMaxDeliver',
        ].sort(),
      );
      assert.match(err.message, /unknown key 'bogus'/);
      return true;
    },
  );
});

test('a missing or malformed config file is a ConfigError naming the file', async () => {
  await assert.rejects(
    loadConfig(CommonConfigSchema, { file: '/nonexistent/dynlab.yaml' }),
    (err: unknown) => err instanceof ConfigError && /\/nonexistent\/dynlab\.yaml/.test(err.message),
  );
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-cfg-'));
  writeFileSync(join(dir, 'bad.yaml'), 'nats: [1, 2\n');
  await assert.rejects(
    loadConfig(CommonConfigSchema, { file: join(dir, 'bad.yaml') }),
    (err: unknown) => err instanceof ConfigError && /bad\.yaml/.test(err.message),
  );
});
