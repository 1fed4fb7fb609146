/** `dynlab validate`: every problem of a sweep file with its path, before anything runs. */
import { compileSweep, loadSpecFile, planSweepJobs } from '@dynlab/spec';
import { defineCommand } from '../define-command';

export const validateCommand = defineCommand({
  name: 'validate',
  summary: 'check a sweep file: every problem with its path (exit 2), or a one-line summary',
  usage: 'SWEEP.yaml',
  positionals: { required: ['SWEEP.yaml'] },
  details: [
    'Runs the validator the coordinator runs, with its default limits (trials, population, steps,',
    'memory per job). A valid sweep prints its trial, job and shape counts.',
  ],
  examples: ['dynlab validate examples/modes.yaml'],
  async run(a) {
    const file = a.positionals[0]!;
    const sweep = compileSweep(await loadSpecFile(file));
    // Planned as the coordinator plans it (every sweep point built and checked).
    const shapes = new Set<string>();
    let jobs = 0;
    let populations = 0;
    for (const job of planSweepJobs(sweep, 'validate')) {
      shapes.add(job.shape);
      jobs++;
      populations += Math.ceil(job.trialCount / job.population);
    }
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    // Jobs of tiny trials hold several populations each (the planner's populationsPerJob).
    const sizes =
      populations === jobs
        ? `${plural(jobs, 'job')} of at most ${sweep.population}`
        : `${plural(jobs, 'job')} (${populations} populations of at most ${sweep.population})`;
    process.stdout.write(
      `${file}: valid sweep '${sweep.name}': ${plural(sweep.trialCount, 'trial')} (${sweep.mode} over ${plural(sweep.axes.length, 'axis').replace(/axiss$/, 'axes')} x ${plural(sweep.seeds.length, 'seed')}), ${sizes}, ${plural(shapes.size, 'shape')}\n`,
    );
    return 0;
  },
});
