/**
 * Errors carry a stable code so callers branch on `code`, never on message text. The same shape
 * crosses the wire as the `ErrorInfo` message and crosses worker-thread boundaries as plain data;
 * `fromErrorInfo` rebuilds the right subclass on the other side.
 */

/** Every error code dynlab emits. Append only: codes are part of the wire contract. */
export const ErrorCode = {
  Internal: 'INTERNAL',
  Config: 'CONFIG',
  Validation: 'VALIDATION',
  NotFound: 'NOT_FOUND',
  Timeout: 'TIMEOUT',
  NoResponders: 'NO_RESPONDERS',
  Decode: 'DECODE',
  Conflict: 'CONFLICT',
  Unavailable: 'UNAVAILABLE',
  Cancelled: 'CANCELLED',
  TooLarge: 'TOO_LARGE',
  Backend: 'BACKEND',
  Shape: 'SHAPE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Plain-data form of an error, identical in shape to the `ErrorInfo` protobuf message. */
export interface ErrorInfoLike {
  code: string;
  message: string;
  retryable: boolean;
  details: Record<string, string>;
}

/** Base error: a code, whether a retry may succeed, optional details and cause. */
export class DynlabError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; details?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }

  /** The wire form (`ErrorInfo`). */
  toInfo(): ErrorInfoLike {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      details: { ...this.details },
    };
  }
}

/** One problem found in user input, with the path of the offending value. */
export interface Issue {
  path: string;
  message: string;
}

/** Bad user input (a spec, a request): every problem with its path, at once. */
export class ValidationError extends DynlabError {
  readonly issues: Issue[];
  constructor(issues: Issue[], opts: { cause?: unknown; what?: string } = {}) {
    const what = opts.what ?? 'input';
    super(
      ErrorCode.Validation,
      `invalid ${what}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      {
        cause: opts.cause,
        details: Object.fromEntries(issues.map((i, k) => [`issue.${k}`, formatIssue(i)])),
      },
    );
    this.issues = issues;
  }
}

/** Bad service configuration. */
export class ConfigError extends DynlabError {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    super(
      ErrorCode.Config,
      `invalid configuration:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      {
        details: Object.fromEntries(issues.map((i, k) => [`issue.${k}`, formatIssue(i)])),
      },
    );
    this.issues = issues;
  }
}

export class NotFoundError extends DynlabError {
  constructor(message: string, details?: Record<string, string>) {
    super(ErrorCode.NotFound, message, { details });
  }
}

export class TimeoutError extends DynlabError {
  constructor(message: string, opts: { cause?: unknown; details?: Record<string, string> } = {}) {
    super(ErrorCode.Timeout, message, { retryable: true, ...opts });
  }
}

export class DecodeError extends DynlabError {
  constructor(message: string, opts: { cause?: unknown; details?: Record<string, string> } = {}) {
    super(ErrorCode.Decode, message, opts);
  }
}

/** `path: message`, or just the message for the root. */
export function formatIssue(issue: Issue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** Rebuilds an error from its wire or worker-thread form, keeping code and retryability. */
export function fromErrorInfo(info: Partial<ErrorInfoLike> | null | undefined): DynlabError {
  const code = (
    info?.code && knownCodes.has(info.code) ? info.code : ErrorCode.Internal
  ) as ErrorCode;
  const message = info?.message || 'unknown error';
  const details = { ...(info?.details ?? {}) };
  if (code === ErrorCode.Validation || code === ErrorCode.Config) {
    const issues = Object.keys(details)
      .filter((k) => k.startsWith('issue.'))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
      .map((k) => parseIssue(details[k] ?? ''));
    if (issues.length > 0)
      return code === ErrorCode.Validation ? new ValidationError(issues) : new ConfigError(issues);
  }
  if (code === ErrorCode.NotFound) return new NotFoundError(message, details);
  if (code === ErrorCode.Timeout) return new TimeoutError(message, { details });
  if (code === ErrorCode.Decode) return new DecodeError(message, { details });
  return new DynlabError(code, message, { retryable: info?.retryable ?? false, details });
}

function parseIssue(text: string): Issue {
  const at = text.indexOf(': ');
  return at < 0
    ? { path: '', message: text }
    : { path: text.slice(0, at), message: text.slice(at + 2) };
}

/** Any thrown value as a DynlabError (unknown errors become INTERNAL, with the original as cause). */
export function toDynlabError(err: unknown): DynlabError {
  if (err instanceof DynlabError) return err;
  if (err instanceof Error) return new DynlabError(ErrorCode.Internal, err.message, { cause: err });
  return new DynlabError(ErrorCode.Internal, String(err));
}
