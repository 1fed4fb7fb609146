/**
 * The HTTP endpoint every service runs beside its NATS work: `/metrics` for Prometheus,
 * `/healthz` for liveness (the process answers: the event loop turns) and `/readyz` for readiness
 * (the service's own check, e.g. NATS connected and topology ready). Liveness and readiness are
 * separate because a trainer that lost NATS must be taken out of rotation, not restarted.
 * Plain `node:http`: three routes do not need a framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynlabError, ErrorCode, silentLogger, type Logger } from '@dynlab/core';
import type { MetricsRegistry } from './metrics-registry';

/** Options of {@link MetricsServer}. */
export interface MetricsServerOptions {
  /** The registry whose metrics `/metrics` serves. */
  registry: MetricsRegistry;
  /** Interface to listen on. @default '0.0.0.0' */
  host?: string;
  /** Port to listen on; 0 picks a free port (read it from `port` after `listen`). @default 9464 */
  port?: number;
  /** Readiness check behind `/readyz` and `dynlab_service_ready`; one that throws means not ready. @default the registry's current check */
  ready?: () => boolean | Promise<boolean>;
  /** A readiness check slower than this counts as not ready. @default 2000 */
  readyTimeoutMs?: number;
  /** @default silentLogger */
  logger?: Logger;
}

/** Serves `/metrics`, `/healthz` and `/readyz`; see the module header. */
export class MetricsServer {
  private readonly server: Server;
  private readonly registry: MetricsRegistry;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly readyTimeoutMs: number;
  private readonly logger: Logger;
  private boundPort: number | undefined;

  constructor(opts: MetricsServerOptions) {
    this.registry = opts.registry;
    this.host = opts.host ?? '0.0.0.0';
    this.requestedPort = opts.port ?? 9464;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 2000;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'metrics-server' });
    if (opts.ready) this.registry.setReadiness(opts.ready);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.logger.error('metrics request failed', {
          url: req.url,
          error: (err as Error).message,
        });
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    });
  }

  /** Starts listening; resolves once the port is bound. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new DynlabError(
            ErrorCode.Unavailable,
            `metrics server cannot listen on ${this.host}:${this.requestedPort}: ${err.message}`,
            { cause: err },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.requestedPort, this.host, () => {
        this.server.off('error', onError);
        this.boundPort = (this.server.address() as AddressInfo).port;
        this.logger.info('metrics server listening', { host: this.host, port: this.boundPort });
        resolve();
      });
    });
  }

  /** The bound port (the free port picked when 0 was asked for). Throws before `listen`. */
  get port(): number {
    if (this.boundPort === undefined)
      throw new DynlabError(ErrorCode.Unavailable, 'metrics server is not listening');
    return this.boundPort;
  }

  /** Base URL, e.g. `http://127.0.0.1:9464` (a wildcard host is shown as 127.0.0.1). */
  get url(): string {
    const host =
      this.host === '0.0.0.0' || this.host === '::'
        ? '127.0.0.1'
        : this.host.includes(':')
          ? `[${this.host}]`
          : this.host;
    return `http://${host}:${this.port}`;
  }

  /** Stops listening and closes open connections. */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    switch (path) {
      case '/metrics':
        return send(res, 200, await this.registry.metrics(), {
          'content-type': this.registry.contentType,
        });
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/readyz':
        return (await this.ready()) ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
      default:
        return send(res, 404, 'not found: try /metrics, /healthz or /readyz\n');
    }
  }

  private async ready(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(false), this.readyTimeoutMs)),
    );
    try {
      return await Promise.race([this.registry.isReady(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
