import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { type ReadinessCheck, readinessOf } from './health.js';
import { pathOf } from './request-path.js';

export interface OpsServerOptions {
  host: string;
  /** 0 takes any free port (`port` tells which once listening). */
  port: number;
  registry: Registry;
  checks: ReadinessCheck[];
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  contentType = 'application/json',
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(body);
}

/**
 * The operations endpoints on a port of their own — GET /healthz (liveness: the process
 * answers), /readyz (every readiness check passes, else 503 naming those that fail), /metrics
 * (Prometheus) — for an app whose main ports answer only authenticated callers (inference
 * workers): probes and scrapers need no credentials here, and reach nothing else. A bare
 * node:http server: nothing on it parses a body or runs app code.
 */
export class OpsServer {
  private readonly server: Server;
  private boundPort = 0;

  constructor(private readonly options: OpsServerOptions) {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.headersTimeout = 5000;
    this.server.requestTimeout = 10_000;
  }

  /** The port it listens on (OPS_PORT, or the one the system chose for 0). */
  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as { port: number }).port;
    return this.boundPort;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request.url ?? '/');
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('allow', 'GET, HEAD');
        send(response, 405, JSON.stringify({ error: 'method not allowed' }));
      } else if (path === '/healthz') {
        send(response, 200, JSON.stringify({ status: 'ok' }));
      } else if (path === '/readyz') {
        const { ok, body } = await readinessOf(this.options.checks);
        send(response, ok ? 200 : 503, JSON.stringify(body));
      } else if (path === '/metrics') {
        send(
          response,
          200,
          await this.options.registry.metrics(),
          'text/plain; version=0.0.4; charset=utf-8',
        );
      } else {
        send(response, 404, JSON.stringify({ error: 'not found' }));
      }
    } catch (error) {
      if (!response.headersSent) {
        send(response, 500, JSON.stringify({ error: (error as Error).message }));
      }
    }
  }
}
