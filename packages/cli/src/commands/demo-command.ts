/** `dynlab demo`: the built-in gradient-starvation sweep, run locally, with its report. */
import { resolve } from 'node:path';
import { threadsFlag, trainersFlag } from '../cluster-connection';
import { defineCommand, intFlag, stringFlag } from '../define-command';

/** The sweep the demo runs (in the repository's examples folder). */
export const demoSweepFile = resolve(__dirname, '../../../../examples/starvation.yaml');

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'run the built-in gradient-starvation sweep locally and write its report',
  usage: '[--out DIR] [--trainers N] [--threads N]',
  flags: {
    out: { type: 'string', value: 'DIR', help: 'results folder (default ./dynlab-out/demo)' },
    trainers: trainersFlag,
    threads: threadsFlag,
  },
  details: [
    `Runs ${demoSweepFile} (a frequent feature present vs knocked out, with and without`,
    'spectral decoupling) on a local cluster, exactly as `dynlab run` does, then prints where report.html is.',
  ],
  examples: ['dynlab demo', 'dynlab demo --out /tmp/starvation-demo'],
  async run(a) {
    const { runSweep } = await import('../run-sweep.js');
    return runSweep({
      specFile: demoSweepFile,
      out: stringFlag(a, 'out', 'dynlab-out/demo'),
      trainers: intFlag(a, 'trainers', 1, 1, 64),
      threads: intFlag(a, 'threads', 0, 0, 256),
    });
  },
});
