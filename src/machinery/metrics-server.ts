/**
 * A process's HTTP endpoint for Prometheus and the kubelet's probes: /metrics (the registry it
 * is given), /healthz (the process serves requests) and /readyz (named checks, e.g.
 * "informers synced"; 503 listing the failing ones).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { usageError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';

/** A named check: true (or a resolved true) when healthy. */
export type HealthCheck = () => boolean | Promise<boolean>;

export interface ListenAddress {
  /** undefined: all interfaces. */
  readonly host: string | undefined;
  readonly port: number;
}

/** Parses `--metrics-addr`: `:8080`, `127.0.0.1:9090`, `[::1]:0`, `0` (any free port). */
export function parseListenAddress(address: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(address) ?? /^()()(\d+)$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw usageError(`--metrics-addr must be [HOST]:PORT, like :8080 or 127.0.0.1:8080 (got "${address}")`);
  }
  const host = match[1] ?? match[2];
  return { host: host === undefined || host === '' ? undefined : host, port };
}

export interface MetricsServerOptions {
  /** Default `:8080`. */
  readonly address?: string;
  /** The process's own registry: each process exports only its own families. */
  readonly registry: Registry;
  /** Checks for /readyz; all must pass. */
  readonly readinessChecks?: Readonly<Record<string, HealthCheck>>;
  /** Checks for /healthz besides "the process answers"; failing ones get the pod restarted. */
  readonly livenessChecks?: Readonly<Record<string, HealthCheck>>;
  readonly logger?: Logger;
}

export class MetricsServer {
  private readonly listen: ListenAddress;
  private readonly registry: Registry;
  private readonly readiness: Map<string, HealthCheck>;
  private readonly liveness: Map<string, HealthCheck>;
  private readonly logger: Logger;
  private server: Server | undefined;

  constructor(options: MetricsServerOptions) {
    this.listen = parseListenAddress(options.address ?? ':8080');
    this.registry = options.registry;
    this.readiness = new Map(Object.entries(options.readinessChecks ?? {}));
    this.liveness = new Map(Object.entries(options.livenessChecks ?? {}));
    this.logger = (options.logger ?? silentLogger()).child({ component: 'metrics-server' });
  }

  /** Adds (or replaces) a readiness check, e.g. once an informer exists. */
  addReadinessCheck(name: string, check: HealthCheck): void {
    this.readiness.set(name, check);
  }

  addLivenessCheck(name: string, check: HealthCheck): void {
    this.liveness.set(name, check);
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  async start(): Promise<{ host: string; port: number }> {
    if (this.server !== undefined) throw new Error('metrics server already started');
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listen.port, this.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    this.logger.info({ host: bound.address, port: bound.port }, 'serving /metrics, /healthz and /readyz');
    return { host: bound.address, port: bound.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        this.send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
        return;
      }
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      switch (path) {
        case '/metrics':
          this.send(response, 200, this.registry.contentType, await this.registry.metrics());
          return;
        case '/healthz':
        case '/livez':
          await this.sendChecks(response, this.liveness, 'unhealthy');
          return;
        case '/readyz':
          await this.sendChecks(response, this.readiness, 'not ready');
          return;
        default:
          this.send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
      }
    } catch (err) {
      this.logger.error({ err }, 'metrics endpoint failed');
      if (!response.headersSent) this.send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.end();
    }
  }

  /** Like Kubernetes' own /readyz: one `[+]name ok` / `[-]name failed` line per check. */
  private async sendChecks(response: ServerResponse, checks: ReadonlyMap<string, HealthCheck>, failure: string): Promise<void> {
    const results = await Promise.all(
      [...checks].map(async ([name, check]) => {
        try {
          return { name, ok: await check() };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const failed = results.filter((result) => !result.ok);
    const lines = results.map((result) => `[${result.ok ? '+' : '-'}]${result.name} ${result.ok ? 'ok' : 'failed'}`);
    const body = failed.length === 0 ? `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}ok\n` : `${lines.join('\n')}\n${failure}: ${failed.map((result) => result.name).join(', ')}\n`;
    this.send(response, failed.length === 0 ? 200 : 503, 'text/plain; charset=utf-8', body);
  }

  private send(response: ServerResponse, status: number, contentType: string, body: string): void {
    response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
  }
}
