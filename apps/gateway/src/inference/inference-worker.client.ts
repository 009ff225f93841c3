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
]);

/** Keep-alive HTTP client to the inference workers; bodies stream through in both directions. */
@Injectable()
export class InferenceWorkerClient implements OnModuleDestroy {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  async forward(request: {
    path: string;
    method: 'GET' | 'POST';
    headers: Record<string, string>;
    body?: Dispatcher.DispatchOptions['body'];
  }): Promise<Dispatcher.ResponseData> {
    try {
      return await this.agent.request({
        origin: this.config.INFERENCE_WORKER_URL,
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
        throw new DomainError('UNAVAILABLE', 'no inference worker is reachable');
      }
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
