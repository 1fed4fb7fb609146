/**
 * The users of deploy/nats/permissions.conf loaded as they are into a real nats-server 2.9+: the
 * file's text is appended to the test server's config, and the passwords it reads from the
 * server's environment are set here. Shared by the checks of each rule (nats-permissions.test.ts)
 * and the run of the real services under them (nats-permissions-services.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNats, type NatsServerHandle } from '@dynlab/testing';
import { deployDir } from './repo-paths';

/** The password of each user of permissions.conf in the tests. */
export const natsPasswords = {
  coordinator: 'c-secret',
  trainer: 't-secret',
  analyzer: 'a-secret',
  cli: 'cli-secret',
} as const;

export type NatsUser = keyof typeof natsPasswords;

/**
 * Starts a nats-server with the users of permissions.conf. The passwords go into this process's
 * environment (`DYNLAB_NATS_<USER>_PASSWORD`), which the server inherits.
 */
export async function startNatsWithUsers(): Promise<NatsServerHandle> {
  for (const [user, pass] of Object.entries(natsPasswords))
    process.env[`DYNLAB_NATS_${user.toUpperCase()}_PASSWORD`] = pass;
  return startNats({
    config: readFileSync(join(deployDir, 'nats', 'permissions.conf'), 'utf8'),
  });
}
