import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus } from '@dynlab/bus';
import { ValidationError } from '@dynlab/core';
import { v1 } from '@dynlab/proto';
import { DynlabClient } from './dynlab-client';

test("a sweep far over any limit is refused by the client's own check, before anything is sent", async () => {
  const sent: string[] = [];
  const bus = {
    request: (subject: string) => (sent.push(subject), Promise.reject(new Error('no'))),
  };
  const client = DynlabClient.over(bus as unknown as Bus);
  const spec = {
    base: { data: { features: { n: 8, features: [{ frequency: 1 }] } }, steps: 5 },
    seeds: 300_000_000,
  };
  await assert.rejects(client.submit(spec), (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.match(err.message, /300000000 trials, over the limit of 10000000/);
    return true;
  });
  assert.deepEqual(sent, [], 'nothing was sent');
});

test('waitFor polls where the KV watch is refused, and gives up at its timeout, not an interval later', async () => {
  const requests: string[] = [];
  const running = v1.SweepStatus.create({
    sweepId: 'sw',
    state: v1.SweepState.SWEEP_STATE_RUNNING,
  });
  const bus = {
    request: (subject: string) => (requests.push(subject), Promise.resolve({ status: running })),
    js: {
      views: {
        kv: () =>
          Promise.reject(new Error("Permissions Violation for Publish to '$JS.API.STREAM.INFO'")),
      },
    },
  };
  const client = DynlabClient.over(bus as unknown as Bus);
  const t0 = Date.now();
  await assert.rejects(
    client.waitFor('sw', { intervalMs: 100, timeoutMs: 450 }),
    /sweep sw still running after 450 ms/,
  );
  assert.ok(requests.length >= 3, `${requests.length} polls`);
  // An interval far past the timeout: the wait ends at the timeout.
  await assert.rejects(
    client.waitFor('sw', { intervalMs: 600_000, timeoutMs: 200 }),
    /after 200 ms/,
  );
  assert.ok(Date.now() - t0 < 60_000);
});
