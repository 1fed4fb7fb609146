/**
 * Ctrl-C for long commands: the first SIGINT (or SIGTERM) aborts a signal that the command's
 * phases check and race against, so the command can cancel its sweep and stop what it started
 * before it exits with 130; a second one exits at once (the process-exit hooks of the local
 * cluster still SIGKILL every child, so nothing is left behind either way).
 */
import { DynlabError, ErrorCode } from '@dynlab/core';

/** The error a phase ends with when the user interrupted it (exit code 130). */
export class InterruptedError extends DynlabError {
  constructor(signal: string) {
    super(ErrorCode.Cancelled, `interrupted (${signal})`);
  }
}

/** Listens for SIGINT/SIGTERM until `dispose`. */
export class Interruption {
  private readonly controller = new AbortController();
  /** The signal that arrived first, once one has. */
  received?: NodeJS.Signals;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.received) {
      process.stderr.write(`\ndynlab: second ${sig}, exiting now\n`);
      process.exit(130);
    }
    this.received = sig;
    this.onFirst?.(sig);
    this.controller.abort(new InterruptedError(sig));
  };

  constructor(private readonly onFirst?: (sig: NodeJS.Signals) => void) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Throws an InterruptedError when interrupted. */
  check(): void {
    if (this.received) throw new InterruptedError(this.received);
  }

  /** `p`, or an InterruptedError as soon as the user interrupts (p keeps running). */
  race<T>(p: Promise<T>): Promise<T> {
    this.check();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new InterruptedError(this.received ?? 'SIGINT'));
      this.signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          this.signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          this.signal.removeEventListener('abort', onAbort);
          reject(e as Error);
        },
      );
    });
  }

  /** Waits `ms`, or less when interrupted (never throws). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.signal;
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

/** `p`, or undefined after `ms` (for best-effort steps during shutdown). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    p.catch(() => undefined),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref()),
  ]);
}
