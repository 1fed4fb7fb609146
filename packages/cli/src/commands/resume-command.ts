/** `dynlab resume`: re-enqueue only the trials of a sweep that have no outcome. */
import { statusLine } from '../sweep-status-text';
import { defineCommand } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';

export const resumeCommand = defineCommand({
  name: 'resume',
  summary: 'resume a cancelled or stopped sweep: re-enqueue the trials that have no outcome',
  usage: 'SWEEP [--nats URL]',
  positionals: { required: ['SWEEP'] },
  flags: { nats: natsFlag },
  examples: ['dynlab resume sw-1a2b3c && dynlab watch sw-1a2b3c'],
  async run(a) {
    const { status, requeued } = await withClient(natsUrlOf(a), (c) => c.resume(a.positionals[0]!));
    process.stdout.write(
      `resumed: ${requeued} trial${requeued === 1 ? '' : 's'} re-enqueued; ${statusLine(status)}\n`,
    );
    return 0;
  },
});
