/** `dynlab run`: a sweep file to results and a report, on a local cluster or an existing one. */
import { defineCommand, intFlag, stringFlag } from '../define-command';
import { natsFlag, threadsFlag, trainersFlag } from '../cluster-connection';

export const runCommand = defineCommand({
  name: 'run',
  summary: 'run a sweep to results and a report (a local cluster, or the one at --nats)',
  usage: 'SWEEP.yaml [--out DIR] [--trainers N] [--threads N] [--nats URL]',
  positionals: { required: ['SWEEP.yaml'] },
  flags: {
    out: { type: 'string', value: 'DIR', help: 'results folder (default ./dynlab-out/<sweep id>)' },
    trainers: trainersFlag,
    threads: threadsFlag,
    nats: { ...natsFlag, help: 'use the cluster at this NATS URL instead of starting a local one' },
  },
  details: [
    'Without --nats, dynlab starts nats-server (from PATH, JetStream in a temp dir), a coordinator,',
    'the trainers and an analyzer as child processes, and stops them all at the end. Progress is a',
    'redrawn line on a terminal and a plain line every few seconds otherwise. When the sweep ends,',
    'dynlab waits for the findings to settle and writes trials.csv, trials.parquet, telemetry.parquet,',
    'findings.jsonl and report.html to the results folder. Ctrl-C cancels the sweep, stops everything',
    'it started and exits with 130.',
  ],
  examples: [
    'dynlab run examples/starvation.yaml --out results/starvation',
    'dynlab run sweep.yaml --nats nats://10.0.0.5:4222',
  ],
  async run(a) {
    const { runSweep } = await import('../run-sweep.js');
    return runSweep({
      specFile: a.positionals[0]!,
      out: stringFlag(a, 'out'),
      natsUrl: stringFlag(a, 'nats'),
      trainers: intFlag(a, 'trainers', 1, 1, 64),
      threads: intFlag(a, 'threads', 0, 0, 256),
    });
  },
});
