/**
 * A whole dynlab cluster on this machine: a real nats-server on a free port with JetStream in a
 * temp dir (unless a URL is given), a coordinator, N trainers and an analyzer, each its own
 * process. `stop()` stops them in the order that loses nothing (trainers finish or hand back
 * their jobs first) and removes the temp dir.
 */
import { startNats, type NatsServerHandle } from '@dynlab/testing';
import {
  startServiceProcess,
  type ServiceProcess,
  type ServiceProcessOptions,
} from './service-process';

export interface LocalClusterOptions {
  /** Use this NATS instead of starting one. */
  natsUrl?: string;
  /** @default 1 */
  trainers?: number;
  /** Worker threads per trainer (0: one per core). @default 0 */
  threads?: number;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Extra environment per service kind. */
  serviceEnv?: Partial<Record<'coordinator' | 'trainer' | 'analyzer', Record<string, string>>>;
  onLog?: ServiceProcessOptions['onLog'];
  /** Start no analyzer. @default false */
  noAnalyzer?: boolean;
}

export interface LocalCluster {
  readonly natsUrl: string;
  readonly nats?: NatsServerHandle;
  readonly coordinator: ServiceProcess;
  readonly trainers: ServiceProcess[];
  readonly analyzer?: ServiceProcess;
  /** Starts one more trainer. */
  addTrainer(): Promise<ServiceProcess>;
  /** Restarts the coordinator (SIGKILL, then a fresh process). */
  restartCoordinator(): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export async function startLocalCluster(o: LocalClusterOptions = {}): Promise<LocalCluster> {
  const nats = o.natsUrl ? undefined : await startNats();
  const natsUrl = o.natsUrl ?? nats!.url;
  const started: ServiceProcess[] = [];
  const env = (kind: 'coordinator' | 'trainer' | 'analyzer') => ({
    ...(o.env ?? {}),
    ...(o.serviceEnv?.[kind] ?? {}),
  });
  const start = async (kind: 'coordinator' | 'trainer' | 'analyzer') => {
    const p = await startServiceProcess(kind, {
      natsUrl,
      env: {
        ...(kind === 'trainer' ? { DYNLAB_TRAINER_THREADS: String(o.threads ?? 0) } : {}),
        ...env(kind),
      },
      onLog: o.onLog,
    });
    started.push(p);
    return p;
  };
  try {
    // The coordinator creates the topology first; the others then find it in place.
    let coordinator = await start('coordinator');
    const trainers = await Promise.all(
      Array.from({ length: o.trainers ?? 1 }, () => start('trainer')),
    );
    const analyzer = o.noAnalyzer ? undefined : await start('analyzer');
    const cluster: LocalCluster = {
      natsUrl,
      nats,
      get coordinator() {
        return coordinator;
      },
      trainers,
      analyzer,
      async addTrainer() {
        const t = await start('trainer');
        trainers.push(t);
        return t;
      },
      async restartCoordinator() {
        await coordinator.kill('SIGKILL');
        coordinator = await start('coordinator');
        return coordinator;
      },
      async stop() {
        await Promise.all(trainers.map((t) => t.kill('SIGTERM', 15_000)));
        await Promise.all(started.map((p) => p.kill('SIGTERM', 10_000)));
        await nats?.cleanup();
      },
    };
    return cluster;
  } catch (err) {
    await Promise.all(started.map((p) => p.kill('SIGKILL')));
    await nats?.cleanup();
    throw err;
  }
}
