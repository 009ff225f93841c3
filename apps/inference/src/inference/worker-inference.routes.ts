import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_LOGGER, DomainError, type Logger, sendError } from '@maas/app-runtime';
import { parseVersionNumber } from '@maas/model-registry';
import { InferenceService, type ServedResponse } from './inference.service.js';

export const TENANT_HEADER = 'x-maas-tenant-id';

export function tenantOf(value: string | string[] | undefined): string {
  // The gateway resolves the caller's tenant and sends it; workers are reachable only from it.
  if (typeof value !== 'string' || !value) {
    throw new DomainError('INVALID_ARGUMENT', `missing ${TENANT_HEADER} header`);
  }
  return value;
}

export function headerLengthOf(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[0-9]{1,10}$/.test(raw)) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      'Inference-Header-Content-Length must be a byte count',
    );
  }
  return Number(raw);
}

/** Writes a served response with the usage headers the gateway meters from. */
export async function sendServed(reply: FastifyReply, response: ServedResponse): Promise<void> {
  void reply.header('content-type', response.contentType);
  void reply.header('x-maas-rows', String(response.rows));
  void reply.header('x-maas-batch-size', String(response.batchRows));
  if (response.headerLength !== undefined) {
    void reply.header('inference-header-content-length', String(response.headerLength));
  }
  await reply.send(response.body);
}

type Params = { model: string; version: string };

/**
 * The worker's hot path, the routes the gateway forwards to —
 * `POST /v2/models/{m}/versions/{v}/infer` (Open Inference Protocol, JSON or JSON + binary
 * tensors) and `POST /v1/models/{m}/versions/{v}/predict` (TF Serving) — registered on Fastify
 * directly: Nest's per-request pipeline cost more CPU than decoding the request. And
 * `POST /v2/models/{m}/versions/{v}/load` (204 once loaded, no body): the gateway warming a
 * replica over HTTP, as the link's `load` frame does (InferenceService.preload).
 */
@Injectable()
export class WorkerInferenceRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly inference: InferenceService,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.post('/v2/models/:model/versions/:version/infer', (request, reply) =>
      this.serve(request, reply, (params, body) =>
        this.inference.infer(
          tenantOf(request.headers[TENANT_HEADER]),
          params.model,
          parseVersionNumber(params.version),
          body,
          headerLengthOf(request.headers['inference-header-content-length']),
        ),
      ),
    );
    fastify.post('/v2/models/:model/versions/:version/load', async (request, reply) => {
      try {
        const params = request.params as Params;
        await this.inference.preload(
          tenantOf(request.headers[TENANT_HEADER]),
          params.model,
          parseVersionNumber(params.version),
        );
        await reply.code(204).send();
      } catch (error) {
        if (!reply.sent) sendError(request, reply, error, this.logger);
      }
    });
    fastify.post('/v1/models/:model/versions/:version/predict', (request, reply) =>
      this.serve(request, reply, (params, body) =>
        this.inference.predict(
          tenantOf(request.headers[TENANT_HEADER]),
          params.model,
          parseVersionNumber(params.version),
          body,
        ),
      ),
    );
  }

  private async serve(
    request: FastifyRequest,
    reply: FastifyReply,
    run: (params: Params, body: Buffer) => Promise<ServedResponse>,
  ): Promise<void> {
    try {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      await sendServed(reply, await run(request.params as Params, body));
    } catch (error) {
      if (!reply.sent) sendError(request, reply, error, this.logger);
    }
  }
}
