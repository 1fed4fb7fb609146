/**
 * `runCli`: the `dynlab` command line. Finds the command, parses its flags, runs it and turns any
 * error into `dynlab: <message>` and an exit code (0 ok, 1 failure, 2 bad input, 130
 * interrupted). Command modules import only light code at the top and load the heavy parts (the
 * engine, the services) inside `run`, so `dynlab --help` and `dynlab validate` start quickly.
 */
import { cancelCommand } from './commands/cancel-command';
import { demoCommand } from './commands/demo-command';
import { exportCommand } from './commands/export-command';
import { replayCommand } from './commands/replay-command';
import { resumeCommand } from './commands/resume-command';
import { runCommand } from './commands/run-command';
import { serviceCommands } from './commands/service-commands';
import { simulateCommand } from './commands/simulate-command';
import { statusCommand } from './commands/status-command';
import { submitCommand } from './commands/submit-command';
import { validateCommand } from './commands/validate-command';
import { watchCommand } from './commands/watch-command';
import { commandHelp, parseCommandArgs, type Command } from './define-command';
import { describeError, exitCodeOf, ExitCode, UsageError } from './exit-codes';

/** The version `dynlab --version` prints. */
export const cliVersion = '0.1.0';

/** Every command, in the order `dynlab --help` lists them. */
export const commands: readonly Command[] = [
  runCommand,
  validateCommand,
  simulateCommand,
  submitCommand,
  statusCommand,
  watchCommand,
  cancelCommand,
  resumeCommand,
  exportCommand,
  replayCommand,
  ...serviceCommands,
  demoCommand,
];

/** The overview `dynlab --help` prints. */
export function overviewHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'dynlab: sweeps of small-network training trajectories, their findings, and a report.',
    '',
    'Usage: dynlab COMMAND [ARGS] [--help]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Examples:',
    '  dynlab run examples/starvation.yaml --out results/starvation',
    '  dynlab validate examples/modes.yaml',
    '  dynlab status --nats nats://127.0.0.1:4222',
    '',
    "Exit codes: 0 ok, 1 failure, 2 bad input, 130 interrupted. Run 'dynlab COMMAND --help' for a command's flags.",
    "Set DYNLAB_DEBUG=1 to see stack traces and the services' logs.",
  ].join('\n');
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...new Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

function findCommand(name: string): Command {
  const c = commands.find((x) => x.name === name);
  if (c) return c;
  const near = commands
    .map((x) => ({ name: x.name, d: distance(name, x.name) }))
    .sort((x, y) => x.d - y.d)[0];
  throw new UsageError(
    `unknown command '${name}'`,
    near && near.d <= 2
      ? `did you mean 'dynlab ${near.name}'? ('dynlab --help' lists the commands)`
      : "'dynlab --help' lists the commands",
  );
}

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const debug = process.env.DYNLAB_DEBUG === '1';
  let natsUrl: string | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      process.stderr.write(overviewHelp() + '\n');
      return ExitCode.BadInput;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      if (first === 'help' && rest[0])
        process.stdout.write(commandHelp(findCommand(rest[0])) + '\n');
      else process.stdout.write(overviewHelp() + '\n');
      return ExitCode.Ok;
    }
    if (first === '--version' || first === '-V') {
      process.stdout.write(`dynlab ${cliVersion}\n`);
      return ExitCode.Ok;
    }
    if (first.startsWith('-'))
      throw new UsageError(
        `unknown option '${first}' (a command comes first)`,
        "'dynlab --help' lists the commands",
      );
    const command = findCommand(first);
    const args = parseCommandArgs(command, rest);
    if (args.help && !command.passThrough) {
      process.stdout.write(commandHelp(command) + '\n');
      return ExitCode.Ok;
    }
    natsUrl =
      typeof args.flags.nats === 'string'
        ? args.flags.nats
        : command.flags?.nats
          ? process.env.DYNLAB_NATS_URL || 'nats://127.0.0.1:4222'
          : undefined;
    return await command.run(args);
  } catch (err) {
    process.stderr.write(describeError(err, { natsUrl, debug }) + '\n');
    return exitCodeOf(err);
  }
}
