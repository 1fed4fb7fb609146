/**
 * `runSweep`: one sweep file to results on disk, the path behind `dynlab run` and `dynlab demo`.
 * Phases: validate locally, start a local cluster (unless a NATS URL is given), submit, show
 * progress until the sweep ends, wait for the analyzer's findings to settle, export, stop the
 * cluster, summarize. Every phase races the Ctrl-C signal; an interrupted run cancels its sweep,
 * stops everything it started and ends with exit code 130. The cluster is stopped in `finally`,
 * so an error in any phase leaves no process behind either.
 */
import { resolve } from 'node:path';
import { DynlabClient, type SweepStatus } from '@dynlab/client';
import { startLocalCluster, type LocalCluster, type ServiceProcess } from '@dynlab/cluster';
import { DynlabError, ErrorCode, createLogger, toDynlabError } from '@dynlab/core';
import { v1 } from '@dynlab/proto';
import { compileSweep, defaultLimits, loadSpecFile, noLimits } from '@dynlab/spec';
import { ExitCode } from './exit-codes';
import { exportSweep, type ExportSummary } from './export-sweep';
import { Interruption, InterruptedError, within } from './interruption';
import { formatDuration, ProgressDisplay } from './progress-display';
import { settleFindings } from './settle-findings';
import { stateName } from './sweep-status-text';

/** What to run and where. */
export interface RunSweepOptions {
  specFile: string;
  /** Results folder. @default ./dynlab-out/<sweepId> */
  out?: string;
  /** Use the cluster at this URL instead of starting one. */
  natsUrl?: string;
  /** Trainer processes of the local cluster. @default 1 */
  trainers?: number;
  /** Worker threads per trainer (0: one per core). @default 0 */
  threads?: number;
  /** Time between plain progress lines when not on a terminal. @default 5000 */
  progressIntervalMs?: number;
}

const say = (line: string) => process.stderr.write(line + '\n');

/** Keeps the last service log lines, to show when something goes wrong. */
class LogTail {
  private lines: string[] = [];
  readonly onLog = (line: string) => {
    this.lines.push(line);
    if (this.lines.length > 400) this.lines = this.lines.slice(-200);
    if (process.env.DYNLAB_DEBUG === '1') process.stderr.write(`[service] ${line}\n`);
  };
  last(n: number): string[] {
    return this.lines.slice(-n);
  }
}

/** A nats-server that cannot be found or run, told as what to install. */
function natsMissing(err: unknown): DynlabError | undefined {
  const e = err as NodeJS.ErrnoException;
  const missing =
    /nats-server not found/.test(e.message ?? '') ||
    ((e.code === 'ENOENT' || e.code === 'EACCES') &&
      /nats-server/.test(String(e.path ?? e.message)));
  if (!missing) return undefined;
  return new DynlabError(
    ErrorCode.Unavailable,
    `nats-server is needed for a local cluster and was not found${process.env.NATS_SERVER ? ` (NATS_SERVER=${process.env.NATS_SERVER})` : ' on PATH'}. Install it (Debian/Ubuntu: apt-get install nats-server; elsewhere: https://docs.nats.io/running-a-nats-service/introduction/installation), or set NATS_SERVER to its path, or pass --nats URL to use a running cluster`,
    { cause: err },
  );
}

/** Time the services get to stop after Ctrl-C before they are killed. */
const interruptGraceMs = 3000;

/** The service processes of a local cluster. */
function localServices(cluster: LocalCluster): ServiceProcess[] {
  return [
    cluster.coordinator,
    ...cluster.trainers,
    ...(cluster.analyzer ? [cluster.analyzer] : []),
  ];
}

/** Rejects when a service of the local cluster exits before `stop` (a crash would otherwise stall the sweep forever). */
function watchServices(cluster: LocalCluster, stopping: () => boolean): Promise<never> {
  const services = localServices(cluster);
  const died = new Promise<never>((_, reject) => {
    for (const p of services)
      void p.exited.then((code) => {
        if (!stopping())
          reject(
            new DynlabError(
              ErrorCode.Unavailable,
              `the local ${p.name} (pid ${p.pid}) exited with code ${code}; its last log lines:\n${p.logs().split('\n').slice(-10).join('\n')}`,
              { details: { service: p.name } },
            ),
          );
      });
  });
  died.catch(() => undefined);
  return died;
}

/** Runs the sweep file end to end; returns the exit code (see the module header). */
export async function runSweep(o: RunSweepOptions): Promise<number> {
  const started = Date.now();
  const spec = await loadSpecFile(o.specFile);
  // A local cluster's coordinator applies the default limits: check them before starting anything.
  // A running cluster's may allow more, and it checks again anyway.
  const sweep = compileSweep(spec, o.natsUrl ? noLimits : defaultLimits);
  const interruption = new Interruption(() =>
    say('\ndynlab: interrupted: cancelling the sweep and stopping what this run started...'),
  );
  const tail = new LogTail();
  let starting: Promise<LocalCluster> | undefined;
  let cluster: LocalCluster | undefined;
  let client: DynlabClient | undefined;
  let sweepId: string | undefined;
  let submitting: Promise<{ status: SweepStatus }> | undefined;
  let display: ProgressDisplay | undefined;
  let stopping = false;
  let crashed: Promise<never> = new Promise<never>(() => undefined);
  // Every wait ends on Ctrl-C or when a local service dies, whichever comes first.
  const guard = <T>(p: Promise<T>): Promise<T> => interruption.race(Promise.race([p, crashed]));
  try {
    let natsUrl = o.natsUrl;
    if (!natsUrl) {
      const trainers = o.trainers ?? 1;
      say(
        `starting a local cluster: nats-server, coordinator, ${trainers} trainer${trainers === 1 ? '' : 's'}, analyzer...`,
      );
      starting = startLocalCluster({
        trainers,
        threads: o.threads ?? 0,
        env: { DYNLAB_LOG_LEVEL: process.env.DYNLAB_LOG_LEVEL ?? 'warn' },
        onLog: tail.onLog,
      }).catch((err: unknown) => {
        throw natsMissing(err) ?? err;
      });
      cluster = await interruption.race(starting);
      crashed = watchServices(cluster, () => stopping || interruption.received !== undefined);
      natsUrl = cluster.natsUrl;
      const pids = [
        `nats-server ${cluster.nats?.pid ?? '?'}`,
        `coordinator ${cluster.coordinator.pid}`,
        ...cluster.trainers.map((t) => `trainer ${t.pid}`),
        ...(cluster.analyzer ? [`analyzer ${cluster.analyzer.pid}`] : []),
      ];
      say(`local cluster on ${natsUrl} (pids: ${pids.join(', ')})`);
    }
    client = await guard(DynlabClient.connect({ servers: natsUrl.split(','), timeoutMs: 5000 }));
    submitting = client.submit(spec);
    const submitted = await guard(submitting);
    sweepId = submitted.status.sweepId;
    say(
      `sweep ${sweepId} (${sweep.name}) submitted: ${submitted.status.counts?.total ?? sweep.trialCount} trials in ${submitted.status.counts?.jobs ?? '?'} job${submitted.status.counts?.jobs === 1 ? '' : 's'}`,
    );

    display = new ProgressDisplay({ intervalMs: o.progressIntervalMs });
    let status: SweepStatus = submitted.status;
    for (;;) {
      status = (await guard(client.get(sweepId))).status;
      display.update(status);
      if (status.state !== v1.SweepState.SWEEP_STATE_RUNNING) break;
      await interruption.sleep(500);
      interruption.check();
    }
    display.finish(status);
    const settled = await guard(
      settleFindings(client, sweepId, {
        signal: interruption.signal,
        analyzerMetricsUrl:
          cluster?.analyzer && status.state === v1.SweepState.SWEEP_STATE_COMPLETE
            ? `http://127.0.0.1:${cluster.analyzer.metricsPort}/metrics`
            : undefined,
      }),
    );
    interruption.check();
    if (!settled.settled)
      say('the analyzer is still working; exporting the findings published so far');

    const out = resolve(o.out ?? `dynlab-out/${sweepId}`);
    say(`exporting results to ${out}...`);
    const files = await guard(
      exportSweep(client, sweepId, out, { logger: createLogger({ level: 'warn', pretty: true }) }),
    );
    await within(client.close(), 5000);
    client = undefined;
    stopping = true;
    if (cluster) await cluster.stop();
    cluster = undefined;
    starting = undefined;
    process.stdout.write(summary(status, files, (Date.now() - started) / 1000) + '\n');
    return status.state === v1.SweepState.SWEEP_STATE_COMPLETE ? ExitCode.Ok : ExitCode.Failure;
  } catch (err) {
    display?.interrupt();
    if (err instanceof InterruptedError || interruption.received) {
      // A submit in flight when Ctrl-C came may still be accepted: cancel that sweep too.
      sweepId ??= (await within(submitting ?? Promise.reject(new Error('not submitted')), 3000))
        ?.status.sweepId;
      if (client && sweepId) await within(client.cancel(sweepId), 3000);
      return ExitCode.Interrupted;
    }
    const e = toDynlabError(err);
    if (cluster && e.code !== ErrorCode.Validation && !e.details.service) {
      const lines = tail.last(15);
      if (lines.length > 0) say(`last service log lines:\n${lines.join('\n')}`);
    }
    throw err;
  } finally {
    if (client) await within(client.close(), 3000);
    stopping = true;
    // A cluster still starting when Ctrl-C came is stopped once it is up (its services must not outlive us).
    if (!cluster && starting) cluster = await starting.catch(() => undefined);
    // Interrupted, the sweep is cancelled and nothing held needs finishing: a short grace. (A
    // terminal's Ctrl-C also reaches nats-server, which exits at once; services left without it
    // would otherwise wait out their full drain timeout.)
    if (cluster && interruption.received)
      await Promise.all(localServices(cluster).map((p) => p.kill('SIGTERM', interruptGraceMs)));
    if (cluster) await cluster.stop();
    interruption.dispose();
    if (interruption.received) say('dynlab: stopped');
  }
}

/** The closing summary: outcome counts, findings by kind, and where the files are. */
function summary(st: SweepStatus, files: ExportSummary, elapsedS: number): string {
  const c = st.counts;
  const kinds = Object.entries(files.findingKinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`);
  return [
    `sweep ${st.sweepId} (${st.name}): ${stateName(st.state)} in ${formatDuration(elapsedS)}: ${c?.ok ?? 0} ok, ${c?.diverged ?? 0} diverged, ${c?.failed ?? 0} failed, ${c?.cancelled ?? 0} cancelled of ${c?.total ?? 0} trials`,
    `findings: ${files.findings}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`,
    ...(files.incompleteTelemetry > 0
      ? [`warning: ${files.incompleteTelemetry} trials had incomplete telemetry in the stream`]
      : []),
    `results in ${files.dir}: trials.csv, trials.parquet (${files.trials} trials), telemetry.parquet (${files.telemetryRows} rows), findings.jsonl`,
    `report: ${files.reportHtml}`,
  ].join('\n');
}
