/**
 * Starts a real `nats-server` for tests: a free port on 127.0.0.1, JetStream with its store in a
 * fresh temp dir, and a clean stop. `restart()` brings it back on the same port and store so
 * fault tests can check what survives a broker restart. Every server started here is killed
 * when the test process exits, even if a test forgets to stop it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynlabError, ErrorCode } from '@dynlab/core';

export interface NatsServerOptions {
  /** Extra config text appended to the generated config (users, permissions...). */
  config?: string;
  /** @default true */
  jetstream?: boolean;
  /** Fixed port; @default a free port */
  port?: number;
  /** Seconds to wait for the server to accept connections. @default 15 */
  startTimeoutS?: number;
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly version: string;
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); the store is kept until `cleanup`. */
  stop(): Promise<void>;
  /** Kills the server without warning (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and removes the temp dir. */
  cleanup(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Path of the nats-server binary (NATS_SERVER env, else PATH, else Debian's /usr/sbin). */
export function natsServerBinary(): string {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER;
  for (const candidate of [
    'nats-server',
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ]) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      /* try the next one */
    }
  }
  throw new DynlabError(
    ErrorCode.Unavailable,
    'nats-server not found: install it (Debian: apt-get install nats-server) or set NATS_SERVER',
  );
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPort(
  port: number,
  timeoutS: number,
  proc: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new DynlabError(
        ErrorCode.Unavailable,
        `nats-server exited with ${proc.exitCode}:\n${log()}`,
      );
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new DynlabError(
    ErrorCode.Timeout,
    `nats-server did not accept connections on ${port} within ${timeoutS}s:\n${log()}`,
  );
}

/** Starts a nats-server; see the module header. */
export async function startNats(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = natsServerBinary();
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' })
    .trim()
    .replace(/^nats-server:\s*v?/, '');
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-nats-'));
  const storeDir = join(dir, 'store');
  const port = opts.port ?? (await freePort());
  const confFile = join(dir, 'nats.conf');
  const jetstream = opts.jetstream ?? true;
  writeFileSync(
    confFile,
    [
      `host: 127.0.0.1`,
      `port: ${port}`,
      `max_payload: 8MB`,
      jetstream
        ? `jetstream { store_dir: "${storeDir}", max_memory_store: 256MB, max_file_store: 16GB }`
        : '',
      opts.config ?? '',
    ].join('\n'),
  );
  let proc: ChildProcess | undefined;
  let output = '';
  const launch = async () => {
    output = '';
    const p = spawn(bin, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
    p.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
    live.add(p);
    p.once('exit', () => live.delete(p));
    proc = p;
    await waitForPort(port, opts.startTimeoutS ?? 15, p, () => output);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    version,
    get pid() {
      return proc?.pid;
    },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    restart: async () => {
      await halt('SIGTERM');
      await launch();
    },
    cleanup: async () => {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
