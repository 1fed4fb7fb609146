/** `dynlab cancel`: stop a sweep (queued jobs dropped, running ones stop at their next heartbeat). */
import { statusLine } from '../sweep-status-text';
import { defineCommand } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';

export const cancelCommand = defineCommand({
  name: 'cancel',
  summary: 'cancel a sweep: queued jobs are dropped, running ones stop soon after',
  usage: 'SWEEP [--nats URL]',
  positionals: { required: ['SWEEP'] },
  flags: { nats: natsFlag },
  details: ["Trials without an outcome end 'cancelled'; 'dynlab resume SWEEP' runs them later."],
  examples: ['dynlab cancel sw-1a2b3c'],
  async run(a) {
    const status = await withClient(natsUrlOf(a), (c) => c.cancel(a.positionals[0]!));
    process.stdout.write(`cancelled: ${statusLine(status)}\n`);
    return 0;
  },
});
