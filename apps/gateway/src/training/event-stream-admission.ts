import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  APP_LOGGER,
  HttpMetrics,
  interceptRequests,
  type Logger,
  pathOf,
  ProxyTrust,
  recordRequest,
  requestIdFor,
  sendRawError,
} from '@maas/app-runtime';
import { TenantAuthenticator } from '../auth/guards.js';
import { TrainingEventsNotifier } from './training-events.notifier.js';

const EVENTS_PATH = /^\/api\/training-jobs\/[^/]+\/events$/;
const ROUTE = '/api/training-jobs/:id/events';

/**
 * Training-event streams a tenant may not open are refused ahead of Fastify's router: a flood
 * of stream requests (hundreds at once, each held open) otherwise costs the gateway the whole
 * framework pipeline per refusal, and every other tenant's requests wait behind it on the one
 * event loop. Here a request is authenticated (from the key cache), checked against
 * MAX_EVENT_STREAMS_PER_TENANT, and refused (429, or the authentication error) on the raw
 * response; a stream that may open goes on to its route as before, which counts it.
 */
@Injectable()
export class EventStreamAdmission implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: TenantAuthenticator,
    private readonly notifier: TrainingEventsNotifier,
    private readonly metrics: HttpMetrics,
    private readonly proxies: ProxyTrust,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    interceptRequests(server, (request, response, next) => {
      if (request.method !== 'GET' || !EVENTS_PATH.test(pathOf(request.url ?? '/'))) return false;
      void this.admit(request, response, next);
      return true;
    });
  }

  private async admit(
    request: IncomingMessage,
    response: ServerResponse,
    next: () => void,
  ): Promise<void> {
    const started = performance.now();
    const bearer = { headers: request.headers, clientIp: this.proxies.of(request) };
    let refusal: unknown;
    try {
      const principal = await this.authenticator.authenticate(bearer, 'train');
      if (!this.notifier.atLimit(principal.tenantId!)) {
        next();
        return;
      }
      refusal = this.notifier.limitError();
    } catch (error) {
      refusal = error;
    }
    const requestId = requestIdFor(request);
    const status = sendRawError(request, response, requestId, refusal, this.logger);
    recordRequest(this.metrics, this.logger, {
      requestId,
      method: 'GET',
      url: request.url ?? '/',
      route: ROUTE,
      status,
      durationMs: performance.now() - started,
    });
  }
}
