import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Agent, type Dispatcher, errors } from 'undici';
import { DomainError } from '@maas/app-runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Errors where the worker never took the request: safe to try the next one. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export class WorkerUnreachableError extends DomainError {
  constructor(
    readonly origin: string,
    /** Whether the request surely never reached the worker (a retry elsewhere is safe). */
    readonly beforeSend: boolean,
  ) {
    super('UNAVAILABLE', 'no inference worker is reachable');
  }
}

/** Keep-alive HTTP client to the inference workers; bodies stream through in both directions. */
@Injectable()
export class InferenceWorkerClient implements OnModuleDestroy {
  private readonly agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 256,
    connect: { timeout: 2000 },
  });

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  async forward(request: {
    origin?: string;
    path: string;
    method: 'GET' | 'POST';
    headers: Record<string, string>;
    body?: Dispatcher.DispatchOptions['body'];
  }): Promise<Dispatcher.ResponseData> {
    const origin = request.origin ?? this.config.INFERENCE_WORKER_URL;
    try {
      return await this.agent.request({
        origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body,
        headersTimeout: this.config.INFERENCE_TIMEOUT_MS,
        bodyTimeout: this.config.INFERENCE_TIMEOUT_MS,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) {
        throw new DomainError('DEADLINE_EXCEEDED', 'inference worker did not answer in time');
      }
      if (CONNECTION_ERRORS.has(code) || error instanceof errors.SocketError) {
        throw new WorkerUnreachableError(origin, NOT_CONNECTED.has(code));
      }
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
