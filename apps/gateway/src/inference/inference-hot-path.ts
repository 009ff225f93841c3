import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  APP_LOGGER,
  DomainError,
  errorAnswerOf,
  HttpMetrics,
  interceptRequests,
  type Logger,
  pathOf,
  ProxyTrust,
  recordRequest,
} from '@maas/app-runtime';
import { parseVersionNumber, type VersionSelector } from '@maas/model-registry';
import type { LinkCall } from '@maas/worker-link';
import { TenantAuthenticator } from '../auth/guards.js';
import type { Principal } from '../auth/principal.js';
import { RouteCatalog } from '../docs/route-catalog.js';
import { RequestLimits } from '../quotas/request-limits.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { type UsageEvent, UsageMeterService } from '../usage/usage-meter.service.js';
import { InferenceExchange } from './inference-exchange.js';
import { InferenceForwarder, type InferenceUsage } from './inference-forwarder.service.js';
import { parseTfServingPath, selectorOf } from './tf-serving.js';
import { VersionResolver } from './version-resolver.service.js';

/** What an inference route asks for, read off its URL. */
interface InferenceTarget {
  model: string;
  selector: VersionSelector;
  call: LinkCall;
}

/** An inference route: its template (for metrics and logs) and what its URL names. */
interface InferenceRoute {
  template: string;
  /** Throws the route's 4xx/5xx for a URL it cannot serve. */
  target: () => InferenceTarget;
}

const V2_INFER = /^\/v2\/models\/([^/]+)\/infer$/;
const V2_VERSION_INFER = /^\/v2\/models\/([^/]+)\/versions\/([^/]+)\/infer$/;
const V1_PREFIX = '/v1/models/';
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** The route templates, as metrics, logs and the API documentation name them. */
const TEMPLATES = {
  infer: '/v2/models/:model/infer',
  versionInfer: '/v2/models/:model/versions/:version/infer',
  predict: '/v1/models/*',
} as const;

function decodedSegment(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new DomainError('INVALID_ARGUMENT', `malformed URL encoding in '${raw}'`);
  }
  // No name holds one; PostgreSQL refuses NUL outright.
  if (CONTROL_CHARACTER.test(decoded)) {
    throw new DomainError('INVALID_ARGUMENT', `control character in URL segment '${raw}'`);
  }
  return decoded;
}

function v1Target(path: string): InferenceTarget {
  const parsed = parseTfServingPath(path.slice(V1_PREFIX.length));
  if (!parsed || parsed.action === undefined || parsed.action === 'metadata') {
    throw new DomainError('NOT_FOUND', `no such route: ${path}`);
  }
  if (parsed.action !== 'predict') {
    throw new DomainError('UNIMPLEMENTED', `:${parsed.action} is not supported; use :predict`);
  }
  return { model: parsed.model, selector: selectorOf(parsed), call: 'predict' };
}

/** The inference route a request is for, or undefined (then Fastify's router takes it). */
export function inferenceRouteOf(
  method: string | undefined,
  url: string,
): InferenceRoute | undefined {
  if (method !== 'POST') return undefined;
  const path = pathOf(url);
  let match = V2_INFER.exec(path);
  if (match) {
    const model = match[1]!;
    return {
      template: TEMPLATES.infer,
      target: () => ({ model: decodedSegment(model), selector: {}, call: 'infer' }),
    };
  }
  match = V2_VERSION_INFER.exec(path);
  if (match) {
    const [, model, version] = match as unknown as [string, string, string];
    return {
      template: TEMPLATES.versionInfer,
      target: () => ({
        model: decodedSegment(model),
        selector: { version: parseVersionNumber(decodedSegment(version)) },
        call: 'infer',
      }),
    };
  }
  if (path.startsWith(V1_PREFIX) && path.length > V1_PREFIX.length) {
    return { template: TEMPLATES.predict, target: () => v1Target(path) };
  }
  return undefined;
}

/**
 * The inference hot path — `POST /v2/models/{m}[/versions/{v}]/infer` and TF Serving's
 * `POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict` — answered on the raw HTTP request
 * ahead of Fastify's router (interceptRequests): its routing, hooks, parsers and reply
 * serialisation cost a gateway more CPU per inference than this path's own work. It does the
 * same steps in the same order: authenticate (cached key lookup) and check the `infer` scope,
 * take the tenant's rate-limit token and monthly request (one Redis call), resolve the version
 * (cached), forward the body untouched to the version's worker, and meter the request once its
 * answer is sent; like every route it echoes x-request-id and is logged and counted by route
 * template. Errors have the inference protocols' `{"error": ...}` shape.
 */
@Injectable()
export class InferenceHotPath implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: TenantAuthenticator,
    private readonly limits: RequestLimits,
    private readonly resolver: VersionResolver,
    private readonly forwarder: InferenceForwarder,
    private readonly meter: UsageMeterService,
    private readonly metrics: HttpMetrics,
    private readonly catalog: RouteCatalog,
    private readonly proxies: ProxyTrust,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onModuleInit(): void {
    // Listed in the API documentation like the routes Fastify knows.
    for (const template of Object.values(TEMPLATES)) this.catalog.add('POST', template);
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    interceptRequests(server, (request, response) => this.intercept(request, response));
  }

  private intercept(request: IncomingMessage, response: ServerResponse): boolean {
    const route = inferenceRouteOf(request.method, request.url ?? '/');
    if (!route) return false;
    const exchange = new InferenceExchange(request, response, route.template);
    exchange.clientIp = this.proxies.of(request);
    exchange.onDone(() =>
      recordRequest(this.metrics, this.logger, {
        requestId: exchange.id,
        method: 'POST',
        url: exchange.url,
        route: route.template,
        status: exchange.statusCode,
        durationMs: exchange.elapsedMs,
      }),
    );
    void this.handle(exchange, route);
    return true;
  }

  private async handle(exchange: InferenceExchange, route: InferenceRoute): Promise<void> {
    const usage: InferenceUsage = { modelName: '', modelVersion: 0, rows: 0 };
    try {
      const principal = await this.authenticator.authenticate(exchange, 'infer');
      const tenantId = principal.tenantId!;
      // A URL that names no model version (404, 400, 501) spends no quota.
      const target = route.target();
      // Requests refused by a limit are not usage.
      await this.limits.admitInference(tenantId, exchange);
      // Metered under the name and version the registry resolved (the forwarder sets them), so
      // a URL naming no model is counted as model '' and its segment never reaches metering.
      this.meterWhenSent(exchange, principal, usage);
      const resolved = await this.resolver.resolve(tenantId, target.model, target.selector);
      await this.forwarder.forward(tenantId, resolved, target.call, exchange, usage);
    } catch (error) {
      this.fail(exchange, error);
    }
  }

  private fail(exchange: InferenceExchange, error: unknown): void {
    if (exchange.sent) {
      exchange.response.destroy();
      return;
    }
    const { status, detail, retryAfterSeconds } = errorAnswerOf(error, this.logger, {
      requestId: exchange.id,
      url: exchange.url,
    });
    if (retryAfterSeconds !== undefined) exchange.header('retry-after', String(retryAfterSeconds));
    exchange
      .status(status)
      .header('content-type', 'application/json')
      .send(Buffer.from(JSON.stringify({ error: detail })));
  }

  /**
   * Meters the request (tenant, key, model, version, rows, status, latency): a worker's answer
   * under 400 is recorded in Redis before it is sent (USAGE_RECORDED_BEFORE_ANSWER), every
   * other outcome once answered.
   */
  private meterWhenSent(
    exchange: InferenceExchange,
    principal: Principal,
    usage: InferenceUsage,
  ): void {
    const apiKeyId = principal.kind === 'api-key' ? principal.keyId : `user:${principal.userId}`;
    const eventOf = (status: number): UsageEvent => ({
      tenantId: principal.tenantId!,
      apiKeyId,
      modelName: usage.modelName,
      modelVersion: usage.modelVersion,
      rows: status < 400 ? usage.rows : 0,
      status,
      latencyMs: exchange.elapsedMs,
    });
    let recorded = false;
    if (this.config.USAGE_RECORDED_BEFORE_ANSWER) {
      usage.beforeAnswer = async (status) => {
        if (status >= 400) return;
        recorded = true;
        await this.meter.recordBeforeAnswer(eventOf(status));
      };
    }
    // A client that hung up before the answer was complete still used the worker.
    exchange.onDone(() => {
      if (recorded) return;
      this.meter.record(eventOf(exchange.response.writableFinished ? exchange.statusCode : 499));
    });
  }
}
