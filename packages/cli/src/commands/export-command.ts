/** `dynlab export`: a sweep's results, telemetry, findings and report from the cluster's streams to a folder. */
import { resolve } from 'node:path';
import { defineCommand, stringFlag } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';

export const exportCommand = defineCommand({
  name: 'export',
  summary: "write a sweep's results and report to a folder",
  usage: 'SWEEP --out DIR [--nats URL]',
  positionals: { required: ['SWEEP'] },
  flags: {
    out: { type: 'string', value: 'DIR', help: 'results folder (default ./dynlab-out/<sweep id>)' },
    nats: natsFlag,
  },
  details: [
    'Writes trials.csv, trials.parquet, telemetry.parquet, findings.jsonl and report.html, from',
    'whatever the streams hold (a running or cancelled sweep exports the trials done so far).',
  ],
  examples: ['dynlab export sw-1a2b3c --out results/sw-1a2b3c'],
  async run(a) {
    const { exportSweep } = await import('../export-sweep.js');
    const { createLogger } = await import('@dynlab/core');
    const id = a.positionals[0]!;
    const out = resolve(stringFlag(a, 'out', `dynlab-out/${id}`)!);
    let skipped = 0;
    const files = await withClient(natsUrlOf(a), async (c) => {
      const f = await exportSweep(c, id, out, {
        logger: createLogger({ level: 'warn', pretty: true }),
      });
      skipped = c.undecodable;
      return f;
    });
    process.stdout.write(
      [
        `exported ${files.trials} trials, ${files.telemetryRows} telemetry rows and ${files.findings} findings to ${files.dir}`,
        ...(files.incompleteTelemetry > 0
          ? [`warning: ${files.incompleteTelemetry} trials had incomplete telemetry in the stream`]
          : []),
        ...(skipped > 0
          ? [
              `warning: ${skipped} messages in the sweep's streams did not decode (garbage, or written by an older dynlab) and were skipped`,
            ]
          : []),
        `report: ${files.reportHtml}`,
      ].join('\n') + '\n',
    );
    return 0;
  },
});
