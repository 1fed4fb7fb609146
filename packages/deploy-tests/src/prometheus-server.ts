/**
 * A real Prometheus for tests (Debian's `prometheus` binary): on a free port, its TSDB in a temp
 * dir, scraping given targets with the repository's own `deploy/prometheus/prometheus.yml` (same
 * jobs, same rules) where only the service discovery is replaced by static targets and the
 * intervals are shortened. Tests then evaluate PromQL through its HTTP API, as Grafana does.
 * Every Prometheus started here is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DynlabError, ErrorCode } from '@dynlab/core';
import { freePort } from '@dynlab/testing';
import { prometheusBinary } from './promtool';
import { deployDir } from './repo-paths';

/** `host:port` targets of each dynlab service. */
export interface PrometheusTargets {
  coordinator?: string[];
  trainer?: string[];
  analyzer?: string[];
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** What to scrape. */
  targets: PrometheusTargets;
  /** Scrape and rule evaluation interval in seconds. @default 1 */
  intervalS?: number;
  /** Seconds to wait for Prometheus to be ready. @default 30 */
  startTimeoutS?: number;
}

/** One series of an instant query's result. */
export interface PromSample {
  metric: Record<string, string>;
  /** The value as Prometheus wrote it (`"NaN"` and `"+Inf"` included). */
  value: string;
}

/** A running Prometheus; see the module header. */
export interface PrometheusHandle {
  readonly url: string;
  readonly port: number;
  /** The config file it runs with (in its temp dir). */
  readonly configFile: string;
  /** Evaluates an instant query; a PromQL error throws a DynlabError (code VALIDATION) with Prometheus' message. */
  query(expr: string): Promise<PromSample[]>;
  /** Resolves once every dynlab target has been scraped successfully at least `n` times. */
  waitForScrapes(n: number, timeoutS?: number): Promise<void>;
  /** Stops it and removes its temp dir. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * Writes `deploy/prometheus/prometheus.yml` into `dir` with static targets instead of DNS and file
 * discovery, the `prometheus` self-scrape dropped, and the given interval; copies the alert rules
 * beside it. Returns the config file's path.
 */
export function writePrometheusConfig(
  dir: string,
  targets: PrometheusTargets,
  intervalS = 1,
): string {
  const config = parse(readFileSync(join(deployDir, 'prometheus', 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: Record<string, unknown>[];
  };
  config.global.scrape_interval = `${intervalS}s`;
  config.global.scrape_timeout = `${intervalS}s`;
  config.global.evaluation_interval = `${intervalS}s`;
  config.scrape_configs = config.scrape_configs
    .filter((job) => String(job.job_name).startsWith('dynlab-'))
    .map((job) => {
      const service = String(job.job_name).slice('dynlab-'.length) as keyof PrometheusTargets;
      const { dns_sd_configs: _dns, file_sd_configs: _file, ...rest } = job;
      return { ...rest, static_configs: [{ targets: targets[service] ?? [] }] };
    });
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  copyFileSync(join(deployDir, 'prometheus', 'alerts.yml'), join(dir, 'alerts.yml'));
  return file;
}

/** Starts Prometheus; see the module header. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-prometheus-'));
  const configFile = writePrometheusConfig(dir, opts.targets, opts.intervalS ?? 1);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const proc = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  live.add(proc);
  proc.once('exit', () => live.delete(proc));

  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutS ?? 30) * 1000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new DynlabError(
        ErrorCode.Unavailable,
        `prometheus exited with ${proc.exitCode}:\n${output}`,
      );
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new DynlabError(
        ErrorCode.Timeout,
        `prometheus not ready within ${opts.startTimeoutS ?? 30}s:\n${output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const query = async (expr: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: expr }),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success')
      throw new DynlabError(
        ErrorCode.Validation,
        `query failed: ${body.error ?? res.status}: ${expr}`,
        { details: { expr } },
      );
    const data = body.data!;
    if (data.resultType === 'scalar')
      return [{ metric: {}, value: (data.result as [number, string])[1] }];
    if (data.resultType !== 'vector')
      throw new DynlabError(
        ErrorCode.Validation,
        `expected an instant vector, got ${data.resultType}: ${expr}`,
      );
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map(
      (s) => ({ metric: s.metric, value: s.value[1] }),
    );
  };

  const expected = Object.values(opts.targets).reduce(
    (n, t: string[] | undefined) => n + (t?.length ?? 0),
    0,
  );
  const waitForScrapes = async (n: number, timeoutS = 30) => {
    const until = Date.now() + timeoutS * 1000;
    for (;;) {
      const counts = await query('sum_over_time(up{job=~"dynlab-.*"}[10m])');
      if (counts.length === expected && counts.every((s) => Number(s.value) >= n)) return;
      if (Date.now() > until)
        throw new DynlabError(
          ErrorCode.Timeout,
          `targets not scraped ${n} times within ${timeoutS}s: ${JSON.stringify(counts)}\n${output}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  return { url, port, configFile, query, waitForScrapes, stop };
}
