/**
 * One shape for every command: a name, a usage line, flags with their help, at least one example,
 * and `run`. Parsing is node's `util.parseArgs` in strict mode, so an unknown flag or a missing
 * value is a `UsageError` (exit 2) with a pointer to the command's `--help`, and the help text is
 * generated from the same table that parses, so the two cannot drift apart.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './exit-codes';

/** A flag of a command. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  /** One line of what it does (and its default). */
  help: string;
  /** Placeholder in the help text, e.g. `DIR`. @default 'VALUE' */
  value?: string;
  short?: string;
}

/** What a command receives once its arguments are parsed. */
export interface CommandArgs {
  positionals: string[];
  /** Flag values by name (strings or booleans; absent when not given). */
  flags: Record<string, string | boolean | undefined>;
  /** The raw arguments after the command name (for commands that parse their own). */
  argv: string[];
}

/** A `dynlab` subcommand. */
export interface Command {
  name: string;
  /** One line for `dynlab --help`. */
  summary: string;
  /** Usage after the command name, e.g. `SWEEP.yaml [--out DIR]`. */
  usage: string;
  /** Positional arguments by placeholder name: required ones, then optional ones. @default none */
  positionals?: { required?: string[]; optional?: string[] };
  flags?: Record<string, FlagSpec>;
  /** Paragraphs after the flags. */
  details?: string[];
  /** At least one `dynlab ...` line. */
  examples: string[];
  /** Parses nothing itself: `argv` is passed through (the service commands). */
  passThrough?: boolean;
  run(args: CommandArgs): Promise<number>;
}

/** Checks a command's shape at definition time (every command must carry an example). */
export function defineCommand(c: Command): Command {
  if (c.examples.length === 0) throw new Error(`command ${c.name} has no example`);
  return c;
}

const helpFlag: FlagSpec = { type: 'boolean', short: 'h', help: 'show this help' };

/** Parses `argv` against the command's flags; throws a UsageError naming the problem. */
export function parseCommandArgs(c: Command, argv: string[]): CommandArgs & { help: boolean } {
  if (c.passThrough)
    return {
      positionals: [],
      flags: {},
      argv,
      help: argv.includes('--help') || argv.includes('-h'),
    };
  const flags = { ...(c.flags ?? {}), help: helpFlag };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(flags).map(([name, f]) => [
          name,
          { type: f.type, ...(f.short ? { short: f.short } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(
      `${c.name}: ${(err as Error).message.split('. ')[0]}`,
      `run 'dynlab ${c.name} --help' for its flags`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const help = values.help === true;
  const required = c.positionals?.required ?? [];
  const max = required.length + (c.positionals?.optional?.length ?? 0);
  if (!help && parsed.positionals.length < required.length)
    throw new UsageError(
      `${c.name}: missing ${required[parsed.positionals.length]}`,
      `usage: dynlab ${c.name} ${c.usage}`,
    );
  if (!help && parsed.positionals.length > max)
    throw new UsageError(
      `${c.name}: unexpected argument '${parsed.positionals[max]}'`,
      `usage: dynlab ${c.name} ${c.usage}`,
    );
  return { positionals: parsed.positionals, flags: values, argv, help };
}

/** The command's `--help` text: usage, flags, details, examples. */
export function commandHelp(c: Command): string {
  const flags = Object.entries({ ...(c.flags ?? {}), help: helpFlag }).map(([name, f]) => {
    const left = `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
    return left.padEnd(26) + ' ' + f.help;
  });
  return [
    `dynlab ${c.name}: ${c.summary}`,
    '',
    `Usage: dynlab ${c.name}${c.usage ? ` ${c.usage}` : ''}`,
    '',
    'Flags:',
    ...flags,
    ...(c.details && c.details.length > 0 ? ['', ...c.details] : []),
    '',
    c.examples.length === 1 ? 'Example:' : 'Examples:',
    ...c.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** A flag's string value, or `fallback` when absent. */
export function stringFlag(args: CommandArgs, name: string, fallback?: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : fallback;
}

/** A flag's value as a whole number within [min, max], or `fallback` when absent; a UsageError otherwise. */
export function intFlag(
  args: CommandArgs,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${name}: expected a whole number from ${min} to ${max}, got '${String(v)}'`,
    );
  return n;
}
