/** `dynlab submit`: a sweep file to a running cluster; prints the sweep id. */
import { loadSpecFile } from '@dynlab/spec';
import { statusLine } from '../sweep-status-text';
import { defineCommand } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';

export const submitCommand = defineCommand({
  name: 'submit',
  summary: 'submit a sweep to a running cluster and print its id',
  usage: 'SWEEP.yaml [--nats URL]',
  positionals: { required: ['SWEEP.yaml'] },
  flags: { nats: natsFlag },
  details: [
    'The sweep is validated here first (every problem with its path), then by the coordinator.',
    'The id goes to stdout alone, so scripts can capture it: id=$(dynlab submit sweep.yaml).',
  ],
  examples: ['dynlab submit examples/modes.yaml --nats nats://127.0.0.1:4222'],
  async run(a) {
    const spec = await loadSpecFile(a.positionals[0]!);
    const { status } = await withClient(natsUrlOf(a), (c) => c.submit(spec));
    process.stderr.write(`submitted: ${statusLine(status)}\n`);
    process.stdout.write(`${status.sweepId}\n`);
    return 0;
  },
});
