/**
 * How the commands that talk to a running cluster find it: one `--nats URL` flag with the same
 * default as the services (DYNLAB_NATS_URL, else nats://127.0.0.1:4222), one connect that gives up
 * after a few seconds instead of retrying forever, and one `withClient` that always closes the
 * connection, so a command never hangs on exit.
 */
import type { DynlabClient } from '@dynlab/client';
import type { CommandArgs, FlagSpec } from './define-command';

/** The `--nats` flag every cluster command takes. */
export const natsFlag: FlagSpec = {
  type: 'string',
  value: 'URL',
  help: 'NATS server of the cluster (default $DYNLAB_NATS_URL or nats://127.0.0.1:4222)',
};

/** `--trainers` of the commands that start a local cluster. */
export const trainersFlag: FlagSpec = {
  type: 'string',
  value: 'N',
  help: 'trainer processes of the local cluster (default 1)',
};

/** `--threads` of the commands that start a local cluster. */
export const threadsFlag: FlagSpec = {
  type: 'string',
  value: 'N',
  help: 'worker threads per trainer (default 0: one per core)',
};

/** The NATS URL a command uses: --nats, else DYNLAB_NATS_URL, else the local default. */
export function natsUrlOf(args: CommandArgs): string {
  const v = args.flags.nats;
  return typeof v === 'string' && v !== ''
    ? v
    : process.env.DYNLAB_NATS_URL || 'nats://127.0.0.1:4222';
}

/** Connects to the cluster at `url`, runs `fn` with a client, and closes the connection whatever happens. */
export async function withClient<T>(
  url: string,
  fn: (client: DynlabClient) => Promise<T>,
): Promise<T> {
  const { DynlabClient } = await import('@dynlab/client');
  const client = await DynlabClient.connect({ servers: url.split(','), timeoutMs: 5000 });
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}
