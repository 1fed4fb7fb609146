/**
 * The command's contract with shells and scripts: a small fixed set of exit codes, and one way
 * to turn any error into a one-line (or one-block, for every issue of a bad spec) message. Callers
 * branch on error codes, never on message text; a stack trace is shown only with DYNLAB_DEBUG=1.
 */
import {
  DynlabError,
  ErrorCode,
  ValidationError,
  formatIssue,
  toDynlabError,
  withoutCredentials,
} from '@dynlab/core';

/** Exit codes of every `dynlab` command. */
export const ExitCode = {
  /** Everything went as asked. */
  Ok: 0,
  /** The work failed (a service, the cluster, a sweep that did not complete). */
  Failure: 1,
  /** Bad input: unknown command or flag, a missing or invalid file, an unknown sweep. */
  BadInput: 2,
  /** Stopped by Ctrl-C (SIGINT), after cleaning up. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A command line that cannot be understood; `hint` says what to run instead. */
export class UsageError extends DynlabError {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(ErrorCode.Validation, message);
  }
}

/** Error codes that mean the user gave something wrong, not that the work failed. */
const badInputCodes: ReadonlySet<string> = new Set([
  ErrorCode.Validation,
  ErrorCode.Config,
  ErrorCode.NotFound,
  ErrorCode.TooLarge,
]);

/** The exit code an error ends the command with. */
export function exitCodeOf(err: unknown): ExitCode {
  const e = toDynlabError(err);
  if (e.code === ErrorCode.Cancelled) return ExitCode.Interrupted;
  return badInputCodes.has(e.code) ? ExitCode.BadInput : ExitCode.Failure;
}

/** What to try when the cluster cannot be reached, by error code (never showing a password). */
function natsHint(e: DynlabError, url: string | undefined): string | undefined {
  const natsUrl = url === undefined ? undefined : withoutCredentials(url);
  if (e.code === ErrorCode.NoResponders)
    return `no coordinator is answering${natsUrl ? ` at ${natsUrl}` : ''}: start one with 'dynlab coordinator --nats ${natsUrl ?? 'URL'}', or use 'dynlab run SWEEP.yaml' without --nats for a local cluster`;
  if (e.code === ErrorCode.Unavailable && /cannot connect to NATS/.test(e.message))
    return `is nats-server running there? Start a local cluster with 'dynlab run SWEEP.yaml' (no --nats), or pass --nats URL / DYNLAB_NATS_URL`;
  if (e.code === ErrorCode.Timeout)
    return 'the cluster is reachable but did not answer in time: is a coordinator running and healthy?';
  return undefined;
}

/** `dynlab: <message>` lines for an error (every issue of a ValidationError), plus a hint and, with DYNLAB_DEBUG=1, the stack. */
export function describeError(
  err: unknown,
  opts: { natsUrl?: string; debug?: boolean } = {},
): string {
  const e = toDynlabError(err);
  const lines: string[] = [];
  if (e instanceof ValidationError && e.issues.length > 0) {
    const head = (e.message.split('\n')[0] ?? 'invalid input').replace(/:$/, '');
    lines.push(`dynlab: ${head} (${e.issues.length} problem${e.issues.length === 1 ? '' : 's'})`);
    for (const i of e.issues) lines.push(`  ${formatIssue(i)}`);
  } else lines.push(`dynlab: ${e.message}`);
  const hint = e instanceof UsageError ? e.hint : natsHint(e, opts.natsUrl);
  if (hint) lines.push(`hint: ${hint}`);
  if (opts.debug) lines.push(String((err instanceof Error ? err : e).stack ?? ''));
  return lines.join('\n');
}
