/**
 * A dynlab service as a child process, the way it runs in production (its own process, its own
 * NATS connection), so that tests can kill it with SIGKILL and `dynlab run` can stop everything
 * it started. Ready once the service says so over the IPC channel (with the metrics port it bound).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DynlabError, ErrorCode } from '@dynlab/core';

export type ServiceName = 'coordinator' | 'trainer' | 'analyzer';

export interface ServiceProcessOptions {
  natsUrl: string;
  instance?: string;
  /** Extra environment (DYNLAB_*). */
  env?: Record<string, string>;
  args?: string[];
  /** Every log line (JSON) the service writes. */
  onLog?: (line: string) => void;
  /** @default 60 */
  startTimeoutS?: number;
}

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly instance: string;
  readonly metricsPort: number;
  readonly pid: number;
  /** The last log lines. */
  logs(): string;
  /** Sends a signal and waits for the exit (SIGKILL after `graceMs` for other signals). */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** The service's entry point (`services/<name>/dist/main.js`). */
export function serviceEntry(name: ServiceName): string {
  return require.resolve(`@dynlab/${name}/dist/main.js`);
}

export async function startServiceProcess(
  name: ServiceName,
  o: ServiceProcessOptions,
): Promise<ServiceProcess> {
  const instance = o.instance ?? `${name}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const proc = spawn(process.execPath, [serviceEntry(name), ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...process.env,
      DYNLAB_LOG_PRETTY: '0',
      DYNLAB_METRICS_PORT: '0',
      DYNLAB_METRICS_HOST: '127.0.0.1',
      ...o.env,
      DYNLAB_NATS_URL: o.natsUrl,
      DYNLAB_INSTANCE: instance,
    },
  });
  live.add(proc);
  let tail: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  let onStarted: (port: number) => void = () => undefined;
  const started = new Promise<number>((r) => (onStarted = r));
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      tail.push(line);
      if (tail.length > 200) tail = tail.slice(-100);
      o.onLog?.(line);
    }
  };
  proc.on('message', (m: { kind?: string; metricsPort?: number }) => {
    if (m?.kind === 'dynlab-service-ready') onStarted(Number(m.metricsPort));
  });
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const timeoutS = o.startTimeoutS ?? 60;
  const port = await Promise.race([
    started,
    exited.then((code) => {
      throw new DynlabError(
        ErrorCode.Unavailable,
        `${name} exited with ${code} before it started:\n${tail.slice(-20).join('\n')}`,
      );
    }),
    new Promise<never>((_, rej) =>
      setTimeout(
        () =>
          rej(
            new DynlabError(
              ErrorCode.Timeout,
              `${name} did not start within ${timeoutS}s:\n${tail.slice(-20).join('\n')}`,
            ),
          ),
        timeoutS * 1000,
      ).unref(),
    ),
  ]).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return {
    name,
    instance,
    metricsPort: port,
    pid: proc.pid!,
    logs: () => tail.join('\n'),
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = signal === 'SIGKILL' ? undefined : setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      if (t) clearTimeout(t);
      return code;
    },
  };
}
