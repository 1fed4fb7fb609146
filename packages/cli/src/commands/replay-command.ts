/**
 * `dynlab replay`: runs an analyzer (a built-in or a plug-in added after the sweep ran) over a past
 * sweep's results and telemetry as the streams still hold them, through the same `SweepFeeder` and
 * `AnalyzerHost` the analyzer service uses, and publishes its findings (deduplicated by finding id).
 */
import { defineCommand, stringFlag } from '../define-command';
import { natsFlag, natsUrlOf, withClient } from '../cluster-connection';
import { UsageError } from '../exit-codes';

export const replayCommand = defineCommand({
  name: 'replay',
  summary: "run an analyzer over a past sweep's telemetry and publish its findings",
  usage: 'SWEEP --analyzer NAME[,NAME...] [--dry-run] [--nats URL]',
  positionals: { required: ['SWEEP'] },
  flags: {
    analyzer: {
      type: 'string',
      value: 'NAME',
      help: 'built-in analyzer name(s), comma-separated, or a plug-in module path or package',
    },
    'dry-run': { type: 'boolean', help: 'print the findings without publishing them' },
    nats: natsFlag,
  },
  details: [
    'Built-ins: gradient-share, starvation-counterfactual, learning-curve, convergence-speed,',
    "failed-training, loss-comparison, modes. Findings are published to the sweep's findings",
    'stream with their deterministic ids, so a replay never duplicates what is there.',
  ],
  examples: [
    'dynlab replay sw-1a2b3c --analyzer convergence-speed',
    'dynlab replay sw-1a2b3c --analyzer ./examples/analyzers/loss-plateau.js --dry-run',
  ],
  async run(a) {
    const names = (stringFlag(a, 'analyzer') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 0)
      throw new UsageError(
        'replay: --analyzer NAME is required',
        "run 'dynlab replay --help' for the built-in names",
      );
    const { AnalyzerHost } = await import('@dynlab/analysis');
    const { SweepFeeder, fetchTrialTelemetry, publishFinding, resolveAnalyzers } = await import(
      '@dynlab/analyzer'
    );
    const { createLogger } = await import('@dynlab/core');
    const { readSweepTrials } = await import('../sweep-trials.js');
    const id = a.positionals[0]!;
    const dryRun = a.flags['dry-run'] === true;
    const analyzers = await resolveAnalyzers(names);
    return withClient(natsUrlOf(a), async (client) => {
      const sweep = await client.storedSweep(id);
      let count = 0;
      const host = new AnalyzerHost({
        analyzers,
        logger: createLogger({ level: 'warn', pretty: true }),
        onFinding: async (f) => {
          if (!dryRun) await publishFinding(client.bus, f);
          count++;
          process.stdout.write(
            `${f.severity.padEnd(7)} ${f.kind.padEnd(24)} ${f.trialId || '(sweep)'}  ${f.message}\n`,
          );
        },
      });
      const feeder = new SweepFeeder(
        host,
        () => Promise.resolve(sweep),
        (s, t, j) => fetchTrialTelemetry(client.bus, s, t, j),
      );
      let trials = 0;
      for await (const { result, chunks } of readSweepTrials(client, id)) {
        for (const c of chunks) await feeder.chunk(c);
        await feeder.result(result);
        await feeder.settle(id, result.trialId);
        trials++;
      }
      // A sweep with trials that never got an outcome (cancelled) still gets its per-sweep analysis.
      if (trials > 0 && trials < sweep.trialCount) await host.sweepEnd(id);
      await host.close();
      process.stderr.write(
        `${count} finding${count === 1 ? '' : 's'} from ${names.join(', ')} over ${trials} trials${dryRun ? ' (dry run: not published)' : ', published'}\n`,
      );
      return 0;
    });
  },
});
