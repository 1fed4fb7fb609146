import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ErrorCode } from '@dynlab/core';
import { MetricsRegistry } from './metrics-registry';
import { MetricsServer } from './metrics-server';
import { createTrainerMetrics } from './trainer-metrics';
import { findSamples, parseExposition } from './parse-exposition';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/metrics serves the registry in the text format, with build info, process metrics and the service labels', async () => {
  const registry = new MetricsRegistry({
    service: 'trainer',
    instance: 'trainer-a',
    version: '1.2.3',
  });
  const m = createTrainerMetrics(registry);
  m.setBackend('wasm');
  m.initSweep('sw1', 'wasm');
  m.networkSteps.inc({ sweep: 'sw1', backend: 'wasm' }, 12_800);
  m.trials.inc({ sweep: 'sw1', backend: 'wasm', outcome: 'ok' }, 63);
  m.trials.inc({ sweep: 'sw1', backend: 'wasm', outcome: 'diverged' });
  m.jobDuration.observe({ backend: 'wasm', outcome: 'ok' }, 0.3);
  m.jobDuration.observe({ backend: 'wasm', outcome: 'ok' }, 7);
  m.setPool({ threads: 4, busy: 3, queued: 2 });
  const server = new MetricsServer({ registry, host: '127.0.0.1', port: 0 });
  await server.listen();
  try {
    assert.ok(server.port > 0);
    const reply = await get(`${server.url}/metrics`);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const scrape = parseExposition(reply.body);
    const one = (name: string, match: Record<string, string> = {}) => {
      const found = findSamples(scrape, name, match);
      assert.equal(found.length, 1, `${name} ${JSON.stringify(match)}: ${found.length} samples`);
      return found[0]!;
    };
    assert.deepEqual(one('dynlab_build_info').labels, {
      version: '1.2.3',
      node_version: process.versions.node,
      service: 'trainer',
      instance: 'trainer-a',
    });
    assert.equal(one('dynlab_build_info').value, 1);
    assert.equal(one('dynlab_service_ready').value, 1);
    assert.equal(
      one('dynlab_trainer_network_steps_total', { sweep: 'sw1', backend: 'wasm' }).value,
      12_800,
    );
    assert.equal(one('dynlab_trainer_trials_total', { outcome: 'ok' }).value, 63);
    assert.equal(one('dynlab_trainer_trials_total', { outcome: 'diverged' }).value, 1);
    assert.equal(one('dynlab_trainer_trials_total', { outcome: 'failed' }).value, 0);
    assert.equal(one('dynlab_trainer_pool_utilization_ratio').value, 0.75);
    assert.equal(one('dynlab_trainer_pool_queue_tasks').value, 2);
    assert.equal(one('dynlab_trainer_backend_info', { backend: 'wasm' }).value, 1);
    assert.equal(one('dynlab_trainer_job_duration_seconds_count', { outcome: 'ok' }).value, 2);
    assert.equal(one('dynlab_trainer_job_duration_seconds_sum', { outcome: 'ok' }).value, 7.3);
    assert.equal(
      one('dynlab_trainer_job_duration_seconds_bucket', { outcome: 'ok', le: '0.5' }).value,
      1,
    );
    assert.equal(
      one('dynlab_trainer_job_duration_seconds_bucket', { outcome: 'ok', le: '10' }).value,
      2,
    );
    assert.equal(scrape.types.get('dynlab_trainer_job_duration_seconds'), 'histogram');
    assert.equal(scrape.types.get('dynlab_trainer_network_steps_total'), 'counter');
    assert.equal(one('process_cpu_user_seconds_total').labels.service, 'trainer');
    assert.equal(one('nodejs_heap_size_used_bytes').labels.instance, 'trainer-a');

    m.setBackend('native');
    const after = parseExposition((await get(`${server.url}/metrics`)).body);
    assert.deepEqual(
      findSamples(after, 'dynlab_trainer_backend_info').map((s) => s.labels.backend),
      ['native'],
    );
  } finally {
    await server.close();
  }
});

test('/healthz is live, /readyz and dynlab_service_ready follow the readiness callback', async () => {
  let natsConnected = false;
  const registry = new MetricsRegistry({
    service: 'coordinator',
    instance: 'c1',
    defaultMetrics: false,
  });
  const server = new MetricsServer({
    registry,
    host: '127.0.0.1',
    port: 0,
    ready: () => natsConnected,
    readyTimeoutMs: 100,
  });
  await server.listen();
  const readyGauge = async () =>
    findSamples(
      parseExposition((await get(`${server.url}/metrics`)).body),
      'dynlab_service_ready',
    )[0]?.value;
  try {
    assert.deepEqual(await get(`${server.url}/healthz`).then((r) => [r.status, r.body]), [
      200,
      'ok\n',
    ]);
    assert.deepEqual(await get(`${server.url}/readyz`).then((r) => [r.status, r.body]), [
      503,
      'not ready\n',
    ]);
    assert.equal(await readyGauge(), 0);
    natsConnected = true;
    assert.deepEqual(await get(`${server.url}/readyz`).then((r) => [r.status, r.body]), [
      200,
      'ready\n',
    ]);
    assert.equal(await readyGauge(), 1);

    registry.setReadiness(() => {
      throw new Error('bus gone');
    });
    assert.equal((await get(`${server.url}/readyz`)).status, 503);
    assert.equal(await readyGauge(), 0);
    registry.setReadiness(() => new Promise<boolean>(() => undefined));
    assert.equal(
      (await get(`${server.url}/readyz`)).status,
      503,
      'a check that never answers is not ready',
    );
    registry.setReadiness(async () => true);
    assert.equal((await get(`${server.url}/readyz`)).status, 200);

    assert.equal((await get(`${server.url}/nope`)).status, 404);
    const post = await get(`${server.url}/metrics`, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get(`${server.url}/healthz`, 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  } finally {
    await server.close();
  }
  await assert.rejects(get(`http://127.0.0.1:${server.port}/healthz`), /ECONNREFUSED/);
});

test('a busy port is a typed UNAVAILABLE error, and port is unreadable before listen', async () => {
  const registry = new MetricsRegistry({ service: 'analyzer', defaultMetrics: false });
  const first = new MetricsServer({ registry, host: '127.0.0.1', port: 0 });
  assert.throws(
    () => first.port,
    (e: { code?: string }) => e.code === ErrorCode.Unavailable,
  );
  await first.listen();
  try {
    const second = new MetricsServer({ registry, host: '127.0.0.1', port: first.port });
    await assert.rejects(
      second.listen(),
      (e: { code?: string; message: string }) =>
        e.code === ErrorCode.Unavailable && /EADDRINUSE/.test(e.message),
    );
  } finally {
    await first.close();
  }
  assert.match(registry.instance, new RegExp(`-${process.pid}$`));
});
