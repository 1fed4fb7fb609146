/** `dynlab status`: one sweep's state and counts, or the list of sweeps. */
import { statusLine, statusTable } from '../sweep-status-text';
import { defineCommand, intFlag } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';

export const statusCommand = defineCommand({
  name: 'status',
  summary: "show a sweep's state and counts, or list the sweeps",
  usage: '[SWEEP] [--json] [--limit N] [--nats URL]',
  positionals: { optional: ['SWEEP'] },
  flags: {
    json: { type: 'boolean', help: 'print JSON instead of text' },
    limit: { type: 'string', value: 'N', help: 'most sweeps to list (default 100)' },
    nats: natsFlag,
  },
  examples: ['dynlab status', 'dynlab status sw-1a2b3c --json'],
  async run(a) {
    const { DynlabClient } = await import('@dynlab/client');
    const id = a.positionals[0];
    const limit = intFlag(a, 'limit', 100, 1, 10_000);
    await withClient(natsUrlOf(a), async (c) => {
      if (id) {
        const { status } = await c.get(id);
        process.stdout.write(
          (a.flags.json
            ? JSON.stringify(DynlabClient.plain(status), null, 2)
            : statusLine(status)) + '\n',
        );
      } else {
        const list = await c.list(limit);
        process.stdout.write(
          (a.flags.json
            ? JSON.stringify(
                list.map((s) => DynlabClient.plain(s)),
                null,
                2,
              )
            : statusTable(list)) + '\n',
        );
      }
    });
    return 0;
  },
});
