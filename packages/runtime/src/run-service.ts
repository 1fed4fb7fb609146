/**
 * The life of a service process: parse flags, load config (every problem named), connect to
 * NATS, create the JetStream topology, serve /metrics, /healthz and /readyz, publish heartbeats,
 * start the service's actors, and shut down cleanly on SIGINT/SIGTERM (stop taking work, finish
 * or hand back what is held, drain NATS, exit 0). The coordinator, trainer and analyzer are each
 * a `ServiceDefinition` run by `runService`, from their own package or from the `dynlab` CLI.
 */
import { parseArgs } from 'node:util';
import { Bus, ensureTopology, subjects } from '@dynlab/bus';
import {
  ConfigError,
  createLogger,
  toDynlabError,
  withoutCredentials,
  type Logger,
} from '@dynlab/core';
import { MetricsRegistry, MetricsServer } from '@dynlab/metrics';
import { v1 } from '@dynlab/proto';
import type { z } from 'zod';
import { commonEnv, loadConfig, type CommonConfig } from './service-config';

export const dynlabVersion = '0.1.0';

export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  bus: Bus;
  registry: MetricsRegistry;
  /** Aborted when shutdown begins. */
  signal: AbortSignal;
}

export interface RunningService {
  /** Stop taking new work, finish or hand back what is held. */
  stop(): Promise<void>;
  /** Busy/capacity for heartbeats. */
  load?(): { busy: number; capacity: number; backend?: string };
}

export interface ServiceDefinition<S extends z.ZodTypeAny> {
  name: 'coordinator' | 'trainer' | 'analyzer';
  summary: string;
  schema: S;
  /** Service-specific env variables -> config paths. */
  envMap: Record<string, string>;
  /** Service-specific flags -> config paths (all take a value). */
  flags: Record<string, { path: string; help: string; type?: 'number' | 'string' }>;
  start(ctx: ServiceContext<z.output<S> & CommonConfig>): Promise<RunningService>;
}

/** Help text generated from the definition, with an example. */
export function serviceHelp(
  def: ServiceDefinition<z.ZodTypeAny>,
  envMapAll: Record<string, string>,
): string {
  const width = Math.max(28, ...Object.keys(envMapAll).map((e) => e.length + 4));
  const flags = Object.entries(def.flags).map(([f, d]) => `  --${f} VALUE`.padEnd(width) + d.help);
  const env = Object.entries(envMapAll).map(([e, p]) => `  ${e}`.padEnd(width) + p);
  return [
    `dynlab ${def.name}: ${def.summary}`,
    '',
    `Usage: dynlab ${def.name} [--config FILE] [--nats URL] [--metrics-port N] [flags]`,
    '',
    'Flags:',
    '  --config FILE'.padEnd(width) + 'YAML or JSON settings (see docs/services.md)',
    '  --nats URL'.padEnd(width) +
      'NATS server URL(s), comma-separated (default nats://127.0.0.1:4222)',
    '  --metrics-port N'.padEnd(width) +
      'port of /metrics, /healthz, /readyz (default 9464; 0 = any free port)',
    ...flags,
    '  --help'.padEnd(width) + 'this text',
    '',
    'Environment (overridden by flags):',
    ...env,
    '',
    `Example: DYNLAB_NATS_URL=nats://nats:4222 dynlab ${def.name} --metrics-port 9464`,
  ].join('\n');
}

/**
 * Runs a service until SIGINT/SIGTERM. Exit codes: 0 after a clean shutdown, 2 for bad
 * flags or config, 1 when start-up fails otherwise.
 */
export async function runService<S extends z.ZodTypeAny>(
  def: ServiceDefinition<S>,
  argv: string[] = process.argv.slice(2),
): Promise<number> {
  const envMapAll = { ...commonEnv, ...def.envMap };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        nats: { type: 'string' },
        'metrics-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.keys(def.flags).map((f) => [f, { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    process.stderr.write(
      `dynlab ${def.name}: ${(err as Error).message}\nRun 'dynlab ${def.name} --help' for the flags.\n`,
    );
    return 2;
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    process.stdout.write(serviceHelp(def, envMapAll) + '\n');
    return 0;
  }
  const num = (v: string | boolean | undefined) =>
    typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  const overrides: Record<string, unknown> = {
    'nats.url': values.nats,
    'metrics.port': num(values['metrics-port']),
  };
  for (const [f, d] of Object.entries(def.flags))
    overrides[d.path] = d.type === 'string' ? values[f] : num(values[f]);
  let config: z.output<S> & CommonConfig;
  try {
    config = await loadConfig(def.schema, {
      file: values.config as string | undefined,
      envMap: def.envMap,
      overrides,
    });
  } catch (err) {
    process.stderr.write(
      `dynlab ${def.name}: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`,
    );
    return 2;
  }
  const logger = createLogger({
    level: config.log.level,
    pretty: config.log.pretty || process.stderr.isTTY,
    fields: { service: def.name, instance: config.instance },
  });
  const controller = new AbortController();
  let service: RunningService | undefined;
  let bus: Bus | undefined;
  let server: MetricsServer | undefined;
  try {
    const registry = new MetricsRegistry({
      service: def.name,
      instance: config.instance,
      version: dynlabVersion,
    });
    bus = await Bus.connect({
      servers: config.nats.url.split(','),
      name: `dynlab-${def.name}-${config.instance}`,
      token: config.nats.token,
      user: config.nats.user,
      pass: config.nats.pass,
      credsFile: config.nats.credsFile,
      inboxPrefix: config.nats.inboxPrefix,
      tls: config.nats.tls,
      logger,
    });
    const connectedBus = bus;
    server = new MetricsServer({
      registry,
      host: config.metrics.host,
      port: config.metrics.port,
      logger,
      ready: () => !connectedBus.isClosed && !controller.signal.aborted,
    });
    await server.listen();
    if (config.topology.create) await ensureTopology(bus, config.topology);
    service = await def.start({ config, logger, bus, registry, signal: controller.signal });
    logger.info(`${def.name} started`, {
      nats: withoutCredentials(config.nats.url),
      metricsPort: server.port,
      natsServer: bus.serverVersion,
    });
    // A parent that started us with an IPC channel (the local cluster) learns we are ready, whatever the log level.
    process.send?.({ kind: 'dynlab-service-ready', service: def.name, metricsPort: server.port });
  } catch (err) {
    const e = toDynlabError(err);
    logger.error(`${def.name} failed to start: ${e.message}`, { code: e.code });
    await server?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    return e.code === 'CONFIG' || e.code === 'VALIDATION' ? 2 : 1;
  }
  const started = Date.now();
  const beat = setInterval(() => {
    const load = service?.load?.() ?? { busy: 0, capacity: 0 };
    bus
      ?.publish(
        subjects.heartbeat(def.name, config.instance),
        v1.ServiceHeartbeat,
        {
          service: def.name,
          instance: config.instance,
          busy: load.busy,
          capacity: load.capacity,
          backend: load.backend ?? '',
          uptimeS: (Date.now() - started) / 1000,
          timeMs: Date.now(),
          version: dynlabVersion,
        },
        { jetstream: false },
      )
      .catch(() => undefined);
  }, config.heartbeatS * 1000);
  beat.unref();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: shutting down`);
      controller.abort();
      clearInterval(beat);
      try {
        await service?.stop();
        await bus?.drain();
        await server?.close();
        logger.info(`${def.name} stopped`);
        resolve(0);
      } catch (err) {
        logger.error('unclean shutdown', { error: (err as Error).message });
        resolve(1);
      }
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });
}
