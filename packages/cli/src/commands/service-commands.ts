/**
 * `dynlab coordinator|trainer|analyzer`: a service in this process, by the very definition its own
 * package's `main.js` runs (`runService`: flags, config, NATS, metrics, graceful shutdown), so
 * an operator can run any piece of the cluster from the one `dynlab` binary.
 */
import { defineCommand, type Command } from '../define-command';

type ServiceName = 'coordinator' | 'trainer' | 'analyzer';

const summaries: Record<ServiceName, string> = {
  coordinator: 'run a coordinator: validates and expands sweeps, records every outcome once',
  trainer: 'run a trainer: pulls jobs while it has a free worker and runs them with the engine',
  analyzer: 'run an analyzer: analyzer plug-ins over telemetry and results, publishing findings',
};

const examples: Record<ServiceName, string[]> = {
  coordinator: ['dynlab coordinator --nats nats://127.0.0.1:4222 --metrics-port 9464'],
  trainer: [
    'DYNLAB_TRAINER_THREADS=2 dynlab trainer --nats nats://127.0.0.1:4222 --metrics-port 9465',
  ],
  analyzer: [
    'DYNLAB_ANALYZERS=gradient-share,learning-curve dynlab analyzer --nats nats://127.0.0.1:4222 --metrics-port 9466',
  ],
};

/** Runs the service by its definition, loaded lazily (the trainer pulls in piscina, the analyzer the engine). */
async function runNamed(name: ServiceName, argv: string[]): Promise<number> {
  const { runService } = await import('@dynlab/runtime');
  if (name === 'coordinator')
    return runService((await import('@dynlab/coordinator')).coordinatorDefinition, argv);
  if (name === 'trainer')
    return runService((await import('@dynlab/trainer')).trainerDefinition, argv);
  return runService((await import('@dynlab/analyzer')).analyzerDefinition, argv);
}

function serviceCommand(name: ServiceName): Command {
  return defineCommand({
    name,
    summary: summaries[name],
    usage: '[--config FILE] [--nats URL] [--metrics-port N] [flags]',
    passThrough: true,
    examples: examples[name],
    run: (a) => runNamed(name, a.argv),
  });
}

/** The three service commands. */
export const serviceCommands: Command[] = (['coordinator', 'trainer', 'analyzer'] as const).map(
  serviceCommand,
);
