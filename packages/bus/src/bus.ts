/**
 * The NATS connection and typed messaging. Everything that crosses NATS is a protobuf message
 * encoded by @dynlab/proto's codec; this is the only module that imports the `nats` client.
 *
 * Why the `nats` (v2) package and not the v3 split packages: v2 is the client the design names,
 * is CommonJS like the rest of the workspace, and supports every server feature dynlab uses on
 * nats-server 2.9. Its API is kept behind this package, so moving to v3 touches nothing else.
 */
import {
  connect,
  credsAuthenticator,
  headers as natsHeaders,
  type NatsConnection,
  type JetStreamClient,
  type JetStreamManager,
  type ConnectionOptions,
  type Msg,
} from 'nats';
import { readFileSync } from 'node:fs';
import {
  DynlabError,
  ErrorCode,
  TimeoutError,
  fromErrorInfo,
  toDynlabError,
  silentLogger,
  splitCredentials,
  type Logger,
} from '@dynlab/core';
import { encode, decode, typeName, v1, type MessageType } from '@dynlab/proto';

export interface BusOptions {
  /** Server URLs. @default 'nats://127.0.0.1:4222' (or DYNLAB_NATS_URL) */
  servers?: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
  token?: string;
  user?: string;
  pass?: string;
  /** A NATS `.creds` file (JWT + nkey seed). */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  logger?: Logger;
  /** @default 10000 */
  timeoutMs?: number;
  /**
   * Subject prefix of this connection's reply inboxes (requests, JetStream API calls, pulls,
   * ordered consumers). @default DYNLAB_NATS_INBOX_PREFIX, else `_INBOX_<user>` where a user is
   * given (`user`, or in the first server URL), else NATS's `_INBOX`. One prefix per user lets the
   * server's permissions keep each user to its own replies (deploy/nats/permissions.conf).
   */
  inboxPrefix?: string;
}

/** A subject prefix: dot-separated tokens, no wildcards or white space. */
const subjectPrefix = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/**
 * The inbox prefix of a connection (see `BusOptions.inboxPrefix`): the one given, else one per
 * user (characters a subject token cannot hold become `_`), else undefined (NATS's `_INBOX`).
 */
export function inboxPrefixFor(
  given: string | undefined,
  user: string | undefined,
): string | undefined {
  if (given !== undefined && given !== '') {
    if (!subjectPrefix.test(given))
      throw new DynlabError(
        ErrorCode.Config,
        `inbox prefix '${given}' (nats.inboxPrefix, DYNLAB_NATS_INBOX_PREFIX) is not a subject prefix: dot-separated tokens without white space, '*' or '>'`,
      );
    return given;
  }
  return user ? `_INBOX_${user.replace(/[\s.*>]/g, '_')}` : undefined;
}

/**
 * The credentials written in server URLs (`nats://user:pass@host`, or `nats://token@host`), which
 * the NATS client does not read itself, and the URLs without them (for the client, and for
 * messages, which must not show a password). The first URL with credentials gives them; they must
 * be percent-encoded where they hold characters a URL reserves.
 */
export function urlCredentials(servers: string | string[]): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  const list = Array.isArray(servers) ? servers : servers.split(',');
  const out: ReturnType<typeof urlCredentials> = { servers: [] };
  for (const server of list) {
    const { url, userInfo } = splitCredentials(server);
    out.servers.push(url);
    if (userInfo === undefined || out.user !== undefined || out.token !== undefined) continue;
    const colon = userInfo.indexOf(':');
    try {
      if (colon < 0) out.token = decodeURIComponent(userInfo);
      else {
        out.user = decodeURIComponent(userInfo.slice(0, colon));
        out.pass = decodeURIComponent(userInfo.slice(colon + 1));
      }
    } catch {
      throw new DynlabError(
        ErrorCode.Config,
        `the credentials in the NATS URL ${url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?/i, '$1***@')} are not valid percent-encoding: encode '%' as %25 (and '@', ':', '/' as %40, %3A, %2F)`,
      );
    }
  }
  return out;
}

/** Reply messages all carry an optional `error` (field 1). */
interface WithError {
  error?: v1.IErrorInfo | null;
}

export interface PublishOptions {
  /** JetStream deduplication id: a second publish with the same id inside the window is dropped. */
  msgId?: string;
  /** Expect the subject to be captured by a stream (JetStream publish with ack). @default true */
  jetstream?: boolean;
}

/** A connected bus. Create with `Bus.connect`. */
export class Bus {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly logger: Logger,
    /** The prefix of this connection's reply inboxes (see `BusOptions.inboxPrefix`). */
    readonly inboxPrefix: string,
  ) {}

  /** Connects with unlimited reconnects; status changes are logged. */
  static async connect(opts: BusOptions = {}): Promise<Bus> {
    const logger = (opts.logger ?? silentLogger).child({ component: 'bus' });
    const fromUrl = urlCredentials(
      opts.servers ?? process.env.DYNLAB_NATS_URL ?? 'nats://127.0.0.1:4222',
    );
    const servers = fromUrl.servers;
    // Credentials in the URL (how the CLI is given them) fill in what the options leave out; a
    // creds file (JWT) replaces them.
    const urlOk = !opts.credsFile;
    const user = opts.user ?? (urlOk && !opts.token ? fromUrl.user : undefined);
    const pass =
      opts.pass ??
      (urlOk && user !== undefined && user === fromUrl.user ? fromUrl.pass : undefined);
    const token = opts.token ?? (urlOk && !opts.user ? fromUrl.token : undefined);
    const co: ConnectionOptions = {
      servers,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: opts.timeoutMs ?? 10_000,
      waitOnFirstConnect: false,
      // The client otherwise captures a stack trace (new Error()) for every request, publish
      // acknowledgement and subscription, for its timeout messages: a fifth of a busy service's
      // NATS time. The bus names the subject in its own timeout errors instead.
      noAsyncTraces: true,
    };
    const inboxPrefix = inboxPrefixFor(
      opts.inboxPrefix ?? process.env.DYNLAB_NATS_INBOX_PREFIX,
      user,
    );
    if (inboxPrefix) co.inboxPrefix = inboxPrefix;
    if (token) co.token = token;
    if (user) co.user = user;
    if (pass) co.pass = pass;
    if (opts.credsFile) co.authenticator = credsAuthenticator(readFileSync(opts.credsFile));
    if (opts.tls) {
      co.tls = {
        caFile: opts.tls.caFile,
        certFile: opts.tls.certFile,
        keyFile: opts.tls.keyFile,
      };
    }
    let nc: NatsConnection;
    try {
      nc = await connect(co);
    } catch (err) {
      throw new DynlabError(
        ErrorCode.Unavailable,
        `cannot connect to NATS at ${String(servers)}: ${(err as Error).message}`,
        { retryable: true, cause: err },
      );
    }
    const bus = new Bus(
      nc,
      nc.jetstream(),
      await nc.jetstreamManager(),
      logger,
      inboxPrefix ?? '_INBOX',
    );
    void bus.watchStatus();
    logger.info('connected to NATS', { server: nc.getServer(), version: nc.info?.version });
    return bus;
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      const level =
        s.type === 'disconnect' || s.type === 'error'
          ? 'warn'
          : s.type === 'pingTimer'
            ? 'debug'
            : 'info';
      this.logger[level](`nats ${s.type}`, {
        data: typeof s.data === 'string' ? s.data : JSON.stringify(s.data),
      });
    }
  }

  /** The server's version, e.g. `2.9.10`. */
  get serverVersion(): string {
    return this.nc.info?.version ?? '0.0.0';
  }

  /** True when the server is at least `major.minor` (features newer than 2.9 are detected, not assumed). */
  serverAtLeast(major: number, minor: number): boolean {
    const [a = 0, b = 0] = this.serverVersion.split('.').map(Number);
    return a > major || (a === major && b >= minor);
  }

  /** Largest payload the server accepts. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** `data`, or a TOO_LARGE error (not retryable) when it exceeds the server's max payload. */
  private fitting<T>(subject: string, type: MessageType<T>, data: Uint8Array): Uint8Array {
    if (data.length <= this.maxPayload) return data;
    throw new DynlabError(
      ErrorCode.TooLarge,
      `${typeName(type)} of ${data.length} bytes exceeds the server's max payload (${this.maxPayload})`,
      { details: { subject } },
    );
  }

  /** Publishes a message; through JetStream (acked, deduplicated by `msgId`) unless `jetstream: false`. */
  async publish<T>(
    subject: string,
    type: MessageType<T>,
    message: T | Record<string, unknown>,
    opts: PublishOptions = {},
  ): Promise<void> {
    return this.publishEncoded(subject, type, encode(type, message), opts);
  }

  /** Publishes a message already encoded as `type` (checked against the max payload the same way). */
  async publishEncoded<T>(
    subject: string,
    type: MessageType<T>,
    bytes: Uint8Array,
    opts: PublishOptions = {},
  ): Promise<void> {
    const data = this.fitting(subject, type, bytes);
    if (opts.jetstream === false) {
      this.nc.publish(subject, data);
      return;
    }
    try {
      await this.js.publish(subject, data, opts.msgId ? { msgID: opts.msgId } : undefined);
    } catch (err) {
      throw new DynlabError(
        ErrorCode.Unavailable,
        `publish to ${subject} failed: ${(err as Error).message}`,
        { retryable: true, cause: err },
      );
    }
  }

  /**
   * Request/reply with protobuf in and out. No responders and timeouts become typed errors;
   * an `error` in the reply is rethrown as the matching DynlabError.
   */
  async request<Q, R extends WithError>(
    subject: string,
    reqType: MessageType<Q>,
    req: Q | Record<string, unknown>,
    repType: MessageType<R>,
    timeoutMs = 10_000,
  ): Promise<R> {
    // Checked here, not left to the client: it would fail with a retryable-looking error.
    const data = this.fitting(subject, reqType, encode(reqType, req));
    let msg: Msg;
    try {
      msg = await this.nc.request(subject, data, { timeout: timeoutMs });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '503')
        throw new DynlabError(ErrorCode.NoResponders, `no service is answering on ${subject}`, {
          retryable: true,
          cause: err,
        });
      if (code === 'TIMEOUT')
        throw new TimeoutError(`no reply on ${subject} within ${timeoutMs} ms`, { cause: err });
      throw new DynlabError(
        ErrorCode.Unavailable,
        `request on ${subject} failed: ${(err as Error).message}`,
        { retryable: true, cause: err },
      );
    }
    const reply = decode(repType, msg.data);
    if (reply.error && reply.error.code)
      throw fromErrorInfo({
        code: reply.error.code,
        message: reply.error.message ?? '',
        retryable: !!reply.error.retryable,
        details: (reply.error.details ?? {}) as Record<string, string>,
      });
    return reply;
  }

  /**
   * Serves request/reply in a queue group. A thrown error is sent back as the reply's `error`
   * (never lost); an undecodable request gets a DECODE error and is counted via `onMalformed`.
   */
  serve<Q, R extends WithError>(
    subject: string,
    reqType: MessageType<Q>,
    repType: MessageType<R>,
    handler: (req: Q) => Promise<R | Record<string, unknown>>,
    opts: { queue?: string; onMalformed?: (err: DynlabError) => void } = {},
  ): { stop(): void } {
    const sub = this.nc.subscribe(subject, { queue: opts.queue });
    void (async () => {
      for await (const m of sub) {
        void (async () => {
          let reply: R | Record<string, unknown>;
          try {
            const req = decode(reqType, m.data);
            reply = await handler(req);
          } catch (err) {
            const e = toDynlabError(err);
            if (e.code === ErrorCode.Decode) opts.onMalformed?.(e);
            if (e.code === ErrorCode.Internal)
              this.logger.error('request handler failed', {
                subject,
                error: e.message,
                stack: (e.cause as Error | undefined)?.stack,
              });
            reply = { error: e.toInfo() };
          }
          try {
            m.respond(encode(repType, reply));
          } catch (err) {
            this.logger.error('cannot send reply', { subject, error: (err as Error).message });
            m.respond(encode(repType, { error: toDynlabError(err).toInfo() }));
          }
        })();
      }
    })();
    return { stop: () => sub.unsubscribe() };
  }

  /** Subscribes (core NATS, no persistence) to typed messages; undecodable ones go to `onMalformed`. */
  subscribe<T>(
    subject: string,
    type: MessageType<T>,
    handler: (msg: T, subject: string) => void,
    onMalformed?: (err: DynlabError, subject: string) => void,
  ): { stop(): void } {
    const sub = this.nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        let msg: T;
        try {
          msg = decode(type, m.data);
        } catch (err) {
          onMalformed?.(toDynlabError(err), m.subject);
          continue;
        }
        try {
          handler(msg, m.subject);
        } catch (err) {
          this.logger.error('subscription handler failed', {
            subject: m.subject,
            error: (err as Error).message,
          });
        }
      }
    })();
    return { stop: () => sub.unsubscribe() };
  }

  /** Headers helper for callers that need them (kept here so nothing else imports nats). */
  static headers(): ReturnType<typeof natsHeaders> {
    return natsHeaders();
  }

  /** Flushes pending publishes and closes, letting in-flight subscriptions finish. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch (err) {
      this.logger.warn('drain failed, closing', { error: (err as Error).message });
      await this.nc.close();
    }
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
  }

  get isClosed(): boolean {
    return this.nc.isClosed();
  }
}
