import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Logger, sendError } from '@maas/app-runtime';
import type { VersionSelector } from '@maas/model-registry';
import type { LinkCall } from '@maas/workers';
import { GATEWAY_LOGGER } from '../auth/auth.service.js';
import { TenantAuthenticator } from '../auth/guards.js';
import type { AuthenticatedRequest, Principal } from '../auth/principal.js';
import { parseVersionNumber } from '../models/models.controller.js';
import { RequestLimits } from '../quotas/request-limits.service.js';
import { UsageMeterService } from '../usage/usage-meter.service.js';
import { InferenceForwarder, type InferenceUsage } from './inference-forwarder.service.js';
import { parseTfServingPath, selectorOf } from './tf-serving.js';
import { VersionResolver } from './version-resolver.service.js';

/** What an inference route asks for, read off its URL. */
interface InferenceTarget {
  model: string;
  selector: VersionSelector;
  call: LinkCall;
}

const V1_PREFIX = /^\/v1\/models\//i;

function v2Target(request: FastifyRequest): InferenceTarget {
  const params = request.params as { model: string; version?: string };
  return {
    model: params.model,
    selector: params.version === undefined ? {} : { version: parseVersionNumber(params.version) },
    call: 'infer',
  };
}

function v1Target(request: FastifyRequest): InferenceTarget {
  const url = request.url.split('?')[0]!;
  const path = parseTfServingPath(url.replace(V1_PREFIX, ''));
  if (!path || path.action === undefined || path.action === 'metadata') {
    throw new DomainError('NOT_FOUND', `no such route: ${url}`);
  }
  if (path.action !== 'predict') {
    throw new DomainError('UNIMPLEMENTED', `:${path.action} is not supported; use :predict`);
  }
  return {
    model: path.model,
    selector: selectorOf(path),
    call: 'predict',
  };
}

/**
 * The inference hot path — `POST /v2/models/{m}[/versions/{v}]/infer` and TF Serving's
 * `POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict` — registered on Fastify directly
 * rather than through Nest's guard/interceptor chain, which cost more CPU than the rest of
 * the gateway's work per request (bench/serving/profile.mjs). It does the same steps in the
 * same order: authenticate (cached key lookup) and check the `infer` scope, take the tenant's
 * rate-limit token and monthly request (one Redis call), resolve the version (cached), forward
 * the body untouched to the version's worker, and meter the request once its answer is sent.
 * Errors have the inference protocols' `{"error": ...}` shape, like every other /v1 and /v2 route.
 */
@Injectable()
export class InferenceRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: TenantAuthenticator,
    private readonly limits: RequestLimits,
    private readonly resolver: VersionResolver,
    private readonly forwarder: InferenceForwarder,
    private readonly meter: UsageMeterService,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const handle =
      (target: (request: FastifyRequest) => InferenceTarget) =>
      (request: FastifyRequest, reply: FastifyReply) =>
        this.handle(request, reply, target);
    fastify.post('/v2/models/:model/infer', handle(v2Target));
    fastify.post('/v2/models/:model/versions/:version/infer', handle(v2Target));
    fastify.post('/v1/models/*', handle(v1Target));
  }

  private async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    targetOf: (request: FastifyRequest) => InferenceTarget,
  ): Promise<void> {
    const usage: InferenceUsage = { modelName: '', modelVersion: 0, rows: 0 };
    try {
      const principal = await this.authenticator.authenticate(
        request as AuthenticatedRequest,
        'infer',
      );
      const tenantId = principal.tenantId!;
      // A URL that names no model version (404, 400, 501) spends no quota.
      const target = targetOf(request);
      // Requests refused by a limit are not usage.
      await this.limits.admitInference(tenantId, reply);
      this.meterWhenSent(reply, principal, usage);
      usage.modelName = target.model.slice(0, 200);
      usage.modelVersion = target.selector.version ?? 0;
      const resolved = await this.resolver.resolve(tenantId, target.model, target.selector);
      await this.forwarder.forward(tenantId, resolved, target.call, request, reply, usage);
    } catch (error) {
      if (!reply.sent) sendError(request, reply, error, this.logger);
    }
  }

  /** Meters the request (tenant, key, model, version, rows, status, latency) once answered. */
  private meterWhenSent(reply: FastifyReply, principal: Principal, usage: InferenceUsage): void {
    const apiKeyId = principal.kind === 'api-key' ? principal.keyId : `user:${principal.userId}`;
    let metered = false;
    const meter = () => {
      if (metered) return;
      metered = true;
      // A client that hung up before the answer was complete still used the worker.
      const status = reply.raw.writableFinished ? reply.statusCode : 499;
      this.meter.record({
        tenantId: principal.tenantId!,
        apiKeyId,
        modelName: usage.modelName,
        modelVersion: usage.modelVersion,
        rows: status < 400 ? usage.rows : 0,
        status,
        latencyMs: reply.elapsedTime,
      });
    };
    reply.raw.once('finish', meter);
    reply.raw.once('close', meter);
  }
}
