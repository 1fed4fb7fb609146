/** `dynlab watch`: live progress of a sweep until it ends (Ctrl-C stops watching, not the sweep). */
import { v1 } from '@dynlab/proto';
import { ProgressDisplay } from '../progress-display';
import { Interruption } from '../interruption';
import { defineCommand } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';

export const watchCommand = defineCommand({
  name: 'watch',
  summary: "follow a sweep's progress until it ends",
  usage: 'SWEEP [--nats URL]',
  positionals: { required: ['SWEEP'] },
  flags: { nats: natsFlag },
  details: [
    'Exits 0 when the sweep completes, 1 when it is cancelled or failed, 130 on Ctrl-C (the sweep goes on).',
  ],
  examples: ['dynlab watch sw-1a2b3c'],
  async run(a) {
    const id = a.positionals[0]!;
    const interruption = new Interruption();
    try {
      return await withClient(natsUrlOf(a), async (c) => {
        const display = new ProgressDisplay({ stream: process.stdout });
        for (;;) {
          const { status } = await interruption.race(c.get(id));
          display.update(status);
          if (status.state !== v1.SweepState.SWEEP_STATE_RUNNING) {
            display.finish(status);
            return status.state === v1.SweepState.SWEEP_STATE_COMPLETE ? 0 : 1;
          }
          await interruption.sleep(1000);
          interruption.check();
        }
      });
    } finally {
      interruption.dispose();
    }
  },
});
