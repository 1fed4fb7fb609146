import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus } from '@dynlab/bus';
import { ValidationError } from '@dynlab/core';
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
