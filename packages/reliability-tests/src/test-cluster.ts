/**
 * The fixture every fault test starts from: a real local cluster (nats-server and each service as
 * its own process, via @dynlab/cluster) plus a client on it, with quiet logs. Tests here inject
 * faults into real processes, so nothing is mocked; what a test needs to observe from outside
 * (a service's /metrics, its pid) is read the way an operator would read it.
 */
import {
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
  type ServiceProcess,
} from '@dynlab/cluster';
import { consumers, streams, type Bus } from '@dynlab/bus';
import { waitFor } from '@dynlab/testing';
import { DynlabClient } from '@dynlab/client';

/** A running cluster and a client connected to it. */
export interface TestCluster {
  cluster: LocalCluster;
  client: DynlabClient;
  /** Stops client and cluster; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster for a test, logging at `warn` (set DYNLAB_TEST_LOGS=1 to see service logs).
 * Why quiet: a fault test provokes warnings by design, and a failing test prints the service's
 * last log lines itself.
 */
export async function startTestCluster(o: LocalClusterOptions = {}): Promise<TestCluster> {
  const show = process.env.DYNLAB_TEST_LOGS === '1';
  const cluster = await startLocalCluster({
    ...o,
    env: { DYNLAB_LOG_LEVEL: show ? 'info' : 'warn', ...(o.env ?? {}) },
    onLog: show ? (line) => process.stderr.write(line + '\n') : o.onLog,
  });
  let client: DynlabClient;
  try {
    client = await DynlabClient.connect({ servers: cluster.natsUrl });
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  let stopped = false;
  return {
    cluster,
    client,
    async stop() {
      if (stopped) return;
      stopped = true;
      await client.close().catch(() => undefined);
      await cluster.stop();
    },
  };
}

/** True while the service's process has not exited (checked without waiting for it). */
export async function stillRunning(p: ServiceProcess): Promise<boolean> {
  const exited = await Promise.race([
    p.exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10)),
  ]);
  return !exited;
}

/** Waits until the default analyzer group has taken every result (it is connected and consuming). */
export async function analyzerCaughtUp(bus: Bus, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () =>
      (await bus.jsm.consumers.info(streams.results, consumers.analyzerResults('default')))
        .num_pending === 0,
    'the analyzer to read every result',
    timeoutMs,
    200,
  );
}
