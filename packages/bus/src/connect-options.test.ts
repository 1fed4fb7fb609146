import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynlabError } from '@dynlab/core';
import { inboxPrefixFor, urlCredentials } from './bus';

test('credentials written in a server URL are taken out of it: user and password, or a token', () => {
  assert.deepEqual(urlCredentials('nats://cli:s%40cret@nats.example:4222'), {
    servers: ['nats://nats.example:4222'],
    user: 'cli',
    pass: 's@cret',
  });
  assert.deepEqual(urlCredentials(['tls://t0ken@a:4222', 'tls://b:4222']), {
    servers: ['tls://a:4222', 'tls://b:4222'],
    token: 't0ken',
  });
  // A comma-separated list (DYNLAB_NATS_URL), a URL without a scheme, one without credentials.
  assert.deepEqual(urlCredentials('u:p@a:4222, nats://b:4222'), {
    servers: ['a:4222', 'nats://b:4222'],
    user: 'u',
    pass: 'p',
  });
  assert.deepEqual(urlCredentials('nats://127.0.0.1:4222'), { servers: ['nats://127.0.0.1:4222'] });
  assert.deepEqual(urlCredentials('127.0.0.1:4222'), { servers: ['127.0.0.1:4222'] });
  // Cut as text: an unencoded '@' in the password, an IPv6 host, a default port all survive.
  assert.deepEqual(urlCredentials('ws://u:p@ss@[::1]:80'), {
    servers: ['ws://[::1]:80'],
    user: 'u',
    pass: 'p@ss',
  });
  // Bad percent-encoding is a clear error that does not show the password.
  assert.throws(
    () => urlCredentials('nats://cli:100%@h:4222'),
    (e: unknown) =>
      e instanceof DynlabError &&
      /percent-encoding/.test(e.message) &&
      e.message.includes('nats://***@h:4222') &&
      !e.message.includes('100'),
  );
});

test("a connection's inbox prefix: the one given, else one per user, else NATS's default", () => {
  assert.equal(inboxPrefixFor(undefined, 'cli'), '_INBOX_cli');
  assert.equal(inboxPrefixFor(undefined, 'ops team.a*'), '_INBOX_ops_team_a_');
  assert.equal(inboxPrefixFor('_INBOX', 'cli'), '_INBOX');
  assert.equal(inboxPrefixFor('replies.cli', undefined), 'replies.cli');
  assert.equal(inboxPrefixFor(undefined, undefined), undefined);
  assert.equal(inboxPrefixFor('', undefined), undefined);
  for (const bad of ['a.>', 'a b', 'a..b', '*'])
    assert.throws(
      () => inboxPrefixFor(bad, 'cli'),
      (e: unknown) => e instanceof DynlabError && e.message.includes(`'${bad}'`),
      bad,
    );
});
