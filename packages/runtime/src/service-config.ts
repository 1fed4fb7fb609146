/**
 * Service configuration: one zod schema per service (the common part below plus the service's
 * own), read from an optional YAML/JSON file, then environment variables, then command-line
 * overrides. Checked once; a bad value fails start-up with every problem and its path, and the
 * rest of the service only sees the compiled config.
 */
import { hostname } from 'node:os';
import { ConfigError, type Issue } from '@dynlab/core';
import { loadSpecFile, zodIssues, setPath, parsePath } from '@dynlab/spec';
import { z } from 'zod';

/** A boolean that also accepts 0/1, as environment variables write them. */
export const flag = z.preprocess(
  (v) => (v === 1 || v === '1' ? true : v === 0 || v === '0' ? false : v),
  z.boolean(),
);

export const NatsConfigSchema = z
  .object({
    url: z.string().min(1).default('nats://127.0.0.1:4222'),
    token: z.string().optional(),
    user: z.string().optional(),
    pass: z.string().optional(),
    credsFile: z.string().optional(),
    /** Prefix of the connection's reply inboxes. @default `_INBOX_<user>` with a user, else `_INBOX` */
    inboxPrefix: z.string().optional(),
    tls: z
      .object({
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const CommonConfigSchema = z
  .object({
    instance: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, '-' or '_'")
      .default(`${hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-${process.pid}`),
    nats: NatsConfigSchema.default({}),
    metrics: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .default({}),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
        pretty: flag.default(false),
      })
      .strict()
      .default({}),
    topology: z
      .object({
        /** Create/update streams and consumers at start-up; off for services whose NATS user may not (least privilege). */
        create: flag.default(true),
        jobAckWaitS: z.number().positive().default(30),
        jobMaxDeliver: z.number().int().min(1).default(5),
        telemetryMaxAgeS: z
          .number()
          .positive()
          .default(7 * 86400),
        telemetryMaxBytes: z
          .number()
          .int()
          .positive()
          .default(1024 ** 3),
      })
      .strict()
      .default({}),
    heartbeatS: z.number().positive().default(5),
  })
  .strict();

/** Environment variables every service reads, and the config path each sets. */
export const commonEnv: Record<string, string> = {
  DYNLAB_NATS_URL: 'nats.url',
  DYNLAB_NATS_TOKEN: 'nats.token',
  DYNLAB_NATS_USER: 'nats.user',
  DYNLAB_NATS_PASS: 'nats.pass',
  DYNLAB_NATS_CREDS: 'nats.credsFile',
  DYNLAB_NATS_INBOX_PREFIX: 'nats.inboxPrefix',
  DYNLAB_NATS_TLS_CA: 'nats.tls.caFile',
  DYNLAB_NATS_TLS_CERT: 'nats.tls.certFile',
  DYNLAB_NATS_TLS_KEY: 'nats.tls.keyFile',
  DYNLAB_METRICS_HOST: 'metrics.host',
  DYNLAB_METRICS_PORT: 'metrics.port',
  DYNLAB_LOG_LEVEL: 'log.level',
  DYNLAB_LOG_PRETTY: 'log.pretty',
  DYNLAB_INSTANCE: 'instance',
  DYNLAB_NATS_CREATE_TOPOLOGY: 'topology.create',
  DYNLAB_JOB_ACK_WAIT_S: 'topology.jobAckWaitS',
  DYNLAB_JOB_MAX_DELIVER: 'topology.jobMaxDeliver',
  DYNLAB_HEARTBEAT_S: 'heartbeatS',
};

/** Sets `value` at a dotted path, creating objects on the way. */
function assign(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = parsePath(path);
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  setPath(cur, parts.slice(-1), value);
}

/** Environment strings become numbers and booleans where they look like them (the schema checks the rest). */
function fromEnv(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v)) return Number(v);
  if (v.startsWith('[') || v.startsWith('{')) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

export interface LoadConfigOptions {
  /** A YAML or JSON file. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Env variable -> config path, on top of `commonEnv`. */
  envMap?: Record<string, string>;
  /** Path -> value, applied last (command-line flags). */
  overrides?: Record<string, unknown>;
}

/** Loads and checks a service config; throws a ConfigError naming every problem (with the env variable or file it came from). */
export async function loadConfig<S extends z.ZodTypeAny>(
  schema: S,
  opts: LoadConfigOptions = {},
): Promise<z.output<S>> {
  let raw: Record<string, unknown> = {};
  const issues: Issue[] = [];
  if (opts.file) {
    try {
      const loaded = await loadSpecFile(opts.file);
      if (loaded !== null && loaded !== undefined) {
        if (typeof loaded !== 'object' || Array.isArray(loaded))
          issues.push({ path: opts.file, message: 'expected a mapping of settings' });
        else raw = loaded as Record<string, unknown>;
      }
    } catch (err) {
      issues.push({ path: opts.file, message: (err as Error).message });
    }
  }
  const env = opts.env ?? process.env;
  const envMap = { ...commonEnv, ...(opts.envMap ?? {}) };
  const fromWhere = new Map<string, string>();
  for (const [name, path] of Object.entries(envMap)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    assign(raw, path, fromEnv(v));
    fromWhere.set(path, name);
  }
  for (const [path, v] of Object.entries(opts.overrides ?? {}))
    if (v !== undefined) assign(raw, path, v);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const i of zodIssues(parsed.error)) {
      const via = fromWhere.get(i.path);
      issues.push(via ? { path: `${i.path} (from ${via})`, message: i.message } : i);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return parsed.data as z.output<S>;
}

export type CommonConfig = z.output<typeof CommonConfigSchema>;
