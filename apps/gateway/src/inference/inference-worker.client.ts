import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Agent, type Dispatcher, errors } from 'undici';
import { APP_LOGGER, DomainError, type Logger } from '@maas/app-runtime';
import { type LinkRequestKind, SIGNATURE_HEADER, signWorkerRequest } from '@maas/worker-link';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  // The worker closed while the body was still going out (it refused the request early).
  'EPIPE',
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
    /**
     * Sent, but the worker's loss is blamed on other versions in flight with it (lossSuspects):
     * a bystander, which one other worker may take (once; see InferenceForwarder).
     */
    readonly bystander = false,
  ) {
    super('UNAVAILABLE', 'no inference worker is reachable');
  }
}

/**
 * A worker route's path for a version (workers serve versions by number only): Open Inference
 * Protocol `infer`, TF Serving `predict`, or `load` (ReplicaWarmer).
 */
export function workerPath(model: string, version: number, call: LinkRequestKind): string {
  const prefix = call === 'predict' ? '/v1' : '/v2';
  return `${prefix}/models/${encodeURIComponent(model)}/versions/${version}/${call}`;
}

/**
 * Keep-alive HTTP client to the inference workers; bodies stream through in both directions.
 * Every request is signed with WORKER_SECRET (`@maas/worker-link` request-signature).
 */
@Injectable()
export class InferenceWorkerClient implements OnModuleDestroy {
  private readonly agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 256,
    connect: { timeout: 2000 },
  });

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  async forward(request: {
    origin?: string;
    path: string;
    method: 'GET' | 'POST';
    headers: Record<string, string>;
    body?: Dispatcher.DispatchOptions['body'];
  }): Promise<Dispatcher.ResponseData> {
    const origin = request.origin ?? this.config.INFERENCE_WORKER_URL;
    const signature = signWorkerRequest(this.config.WORKER_SECRET, {
      method: request.method,
      path: request.path,
      requestId: request.headers['x-request-id'] ?? '',
      tenant: request.headers['x-maas-tenant-id'] ?? '',
    });
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request({
        origin,
        path: request.path,
        method: request.method,
        headers: { ...request.headers, [SIGNATURE_HEADER]: signature },
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
    if (response.statusCode === 401) {
      // A worker answers 401 only to a signature it refuses, before it reads the body: a
      // configuration fault (WORKER_SECRET differs, clocks apart), not the caller's.
      await response.body.dump().catch(() => undefined);
      this.logger.error(
        { worker: origin },
        'worker refused the request signature: is WORKER_SECRET the same on the gateway and workers, and are their clocks in sync?',
      );
      throw new WorkerUnreachableError(origin, true);
    }
    return response;
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
