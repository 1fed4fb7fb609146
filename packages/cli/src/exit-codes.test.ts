import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynlabError, ErrorCode, withoutCredentials } from '@dynlab/core';
import { describeError } from './exit-codes';

test('a NATS URL shown in a hint never carries its password or token', () => {
  assert.equal(
    withoutCredentials('nats://cli:s3cret@nats.example:4222'),
    'nats://nats.example:4222',
  );
  assert.equal(withoutCredentials('tls://tok@a:4222,tls://b:4222'), 'tls://a:4222,tls://b:4222');
  assert.equal(withoutCredentials('u:p@host:4222'), 'host:4222');
  assert.equal(withoutCredentials('nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
  // A password holding an unencoded '@' or '/' is cut whole; nothing else in the URL changes.
  assert.equal(withoutCredentials('nats://cli:p@s/s@h:4222'), 'nats://h:4222');
  assert.equal(withoutCredentials('ws://u:p@[::1]:80'), 'ws://[::1]:80');
  const text = describeError(new DynlabError(ErrorCode.NoResponders, 'no responders'), {
    natsUrl: 'nats://cli:s3cret@nats.example:4222',
  });
  assert.match(text, /no coordinator is answering at nats:\/\/nats\.example:4222/);
  assert.doesNotMatch(text, /s3cret/);
});
