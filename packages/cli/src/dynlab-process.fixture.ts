/**
 * Test-side helpers: the `dynlab` binary as a child process (the way a user runs it, with its
 * real exit code and output), and an independent Parquet reader (parquet-wasm, the Rust
 * arrow-rs reader compiled to WebAssembly, into Apache Arrow JS) that shares no code with the writer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';

/** The built binary. */
export const dynlabBin = resolve(__dirname, 'main.js');

/** The repository root (examples/, test-artifacts/). */
export const repoRoot = resolve(__dirname, '../../..');

/** Environment for the child: quiet services, no colours, no debug. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DYNLAB_LOG_LEVEL: 'warn',
    NO_COLOR: '1',
    ...extra,
  };
  delete env.DYNLAB_DEBUG;
  delete env.DYNLAB_NATS_URL;
  return env;
}

/** A running `dynlab` child with its output so far. */
export interface DynlabChild {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (128 + n for a signal). */
  exited: Promise<number>;
  /** Resolves once stderr or stdout matches `re` (rejects after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Starts `dynlab ARGS` in `cwd`; `detached` gives it its own process group, as a shell gives a foreground job. */
export function startDynlab(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; detached?: boolean } = {},
): DynlabChild {
  const proc = spawn(process.execPath, [dynlabBin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = (err + '\n' + out).match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  proc.stdout!.on('data', (d: Buffer) => ((out += d.toString()), check()));
  proc.stderr!.on('data', (d: Buffer) => ((err += d.toString()), check()));
  const exited = new Promise<number>((res) =>
    proc.once('exit', (code, signal) => res(code ?? (signal ? 128 : -1))),
  );
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((res, rej) => {
        const t = setTimeout(
          () => rej(new Error(`no ${re} within ${timeoutMs} ms; stderr:\n${err}\nstdout:\n${out}`)),
          timeoutMs,
        );
        waiters.push({ re, resolve: (m) => (clearTimeout(t), res(m)) });
        check();
        void exited.then(() =>
          setTimeout(
            () => rej(new Error(`exited before ${re}; stderr:\n${err}\nstdout:\n${out}`)),
            50,
          ),
        );
      });
    },
  };
}

/** Runs `dynlab ARGS` to the end. */
export async function runDynlab(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = startDynlab(args, opts);
  const code = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** A Parquet file's column names and rows, as arrow-rs reads them. */
export function readParquetRows(path: string): {
  columns: string[];
  rows: Record<string, unknown>[];
} {
  const table = tableFromIPC(readParquet(readFileSync(path)).intoIPCStream());
  return {
    columns: table.schema.fields.map((f) => f.name),
    rows: table.toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON()),
  };
}
