import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { SIGNATURE_HEADER, verifyWorkerRequest } from '@maas/worker-link';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { InferenceMetrics } from './inference.metrics.js';
import { TENANT_HEADER } from './worker-inference.routes.js';

const headerText = (value: string | string[] | undefined) =>
  typeof value === 'string' ? value : '';

/**
 * Every request on the worker's HTTP port must carry the gateway's signature
 * (`@maas/worker-link` request-signature): checked in onRequest, ahead of routing's work, content
 * parsing and the body, which a refused request never has read. Anything else — a pod that
 * reached the port, a stale or replayed header past its window — gets 401 and the connection
 * is closed, so the body it was sending is not read either. Operations endpoints live on
 * OPS_PORT (ops-server.service.ts), not here.
 */
@Injectable()
export class GatewayAuthHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    private readonly metrics: InferenceMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      const { headers } = request;
      const verdict = verifyWorkerRequest(this.config.WORKER_SECRET, headers[SIGNATURE_HEADER], {
        method: request.method,
        path: request.url,
        requestId: headerText(headers['x-request-id']),
        tenant: headerText(headers[TENANT_HEADER]),
      });
      if (verdict === 'ok') {
        done();
        return;
      }
      this.metrics.authFailures.inc({ transport: 'http', reason: verdict });
      void reply
        .code(401)
        .header('connection', 'close')
        .send({ error: `this port serves only the gateway (${SIGNATURE_HEADER}: ${verdict})` });
    });
  }
}
