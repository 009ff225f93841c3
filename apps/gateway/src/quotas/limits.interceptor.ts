import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, METRICS_REGISTRY } from '@maas/app-runtime';
import { Counter, type Registry } from 'prom-client';
import { PrismaService } from '@maas/db';
import type { Observable } from 'rxjs';
import type { AuthenticatedRequest, Principal } from '../auth/principal.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { currentMonth, RateLimiterService, type TakeResult } from './rate-limiter.service.js';
import { TenantLimitsService } from './tenant-limits.service.js';

/** A 429 whose problem type says which limit was hit. */
export class LimitExceededError extends DomainError {
  constructor(
    message: string,
    readonly problemType: string,
    readonly retryAfterSeconds?: number,
  ) {
    super('RESOURCE_EXHAUSTED', message);
  }
}

const V2_INFER = /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer$/;
const V1_PREDICT = /^\/v1\/models\/.+:(predict|classify|regress)$/;

export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** `/v2/models/{m}[/versions/{v}]/infer` and `/v1/models/...:predict` (the tenant's bucket). */
export function isInferenceRequest(method: string, url: string): boolean {
  if (method !== 'POST') return false;
  const path = pathOf(url);
  return V2_INFER.test(path) || V1_PREDICT.test(path);
}

const startOfMonth = (now = new Date()) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/**
 * Rate limits and quotas for every tenant route, in one place. Runs after the route's auth
 * guard (so the caller's tenant is known) and before the handler: inference takes a token
 * from the tenant's bucket and counts against its monthly requests; other tenant routes take
 * from the caller's own bucket; creating models and training jobs checks those quotas.
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
  private readonly rejections: Counter<'reason'>;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly limiter: RateLimiterService,
    private readonly tenantLimits: TenantLimitsService,
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.rejections = new Counter({
      name: 'maas_rate_limit_rejections_total',
      help: 'Requests refused by a rate limit or quota, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const principal = request.principal;
    const tenantId = principal?.tenantId;
    // Admin routes (platform admins act across tenants) and public routes are not limited.
    if (!principal || !tenantId || request.url.startsWith('/api/admin')) return next.handle();

    const limits = await this.tenantLimits.limitsOf(tenantId);
    if (isInferenceRequest(request.method, request.url)) {
      const result = await this.limiter.take({
        key: this.limiter.key('tenant', tenantId),
        requestsPerSecond: limits.requestsPerSecond,
        burst: limits.burst,
        monthly: {
          key: this.limiter.monthlyRequestsKey(tenantId, currentMonth()),
          limit: limits.monthlyRequests,
          seed: () => this.meteredThisMonth(tenantId),
        },
      });
      this.enforce(result, reply);
    } else {
      const result = await this.limiter.take({
        key: this.limiter.key('caller', callerOf(principal)),
        requestsPerSecond: this.config.API_KEY_REQUESTS_PER_SECOND,
        burst: this.config.API_KEY_BURST,
      });
      this.enforce(result, reply);
      const route = `${request.method} ${pathOf(request.url)}`;
      if (route === 'POST /api/models') await this.checkModels(tenantId, limits.maxModels);
      if (route === 'POST /api/training-jobs') await this.checkTraining(tenantId, limits);
    }
    return next.handle();
  }

  private enforce(result: TakeResult, reply: FastifyReply): void {
    if (result.outcome !== 'admitted') {
      (reply.request as { limitRejected?: boolean }).limitRejected = true;
      this.rejections.inc({ reason: result.outcome });
    }
    if (result.outcome === 'monthly-quota-exceeded') {
      const now = new Date();
      const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      const seconds = Math.max(1, Math.ceil((nextMonth.getTime() - now.getTime()) / 1000));
      void reply.header('ratelimit-limit', '0');
      throw new LimitExceededError(
        'monthly inference request quota exhausted',
        'monthly-quota-exceeded',
        seconds,
      );
    }
    const resetSeconds = Math.max(0, Math.ceil(result.waitMs / 1000));
    void reply.header('ratelimit-limit', String(result.limit));
    void reply.header('ratelimit-remaining', String(result.remaining));
    void reply.header('ratelimit-reset', String(resetSeconds));
    if (result.outcome === 'rate-limited') {
      throw new LimitExceededError(
        'rate limit exceeded',
        'rate-limit-exceeded',
        Math.max(1, resetSeconds),
      );
    }
  }

  /** Inference requests Postgres has metered this month (rebuilds a lost Redis counter). */
  private async meteredThisMonth(tenantId: string): Promise<number> {
    const sum = await this.prisma.usageCounter.aggregate({
      where: { tenantId, hour: { gte: startOfMonth() } },
      _sum: { requests: true },
    });
    return Number(sum._sum.requests ?? 0);
  }

  private async checkModels(tenantId: string, maxModels: number): Promise<void> {
    const count = await this.prisma.model.count({ where: { tenantId, deletedAt: null } });
    if (count >= maxModels) {
      throw new LimitExceededError(
        `the tenant's quota of ${maxModels} models is reached`,
        'model-quota-exceeded',
      );
    }
  }

  private async checkTraining(
    tenantId: string,
    limits: { concurrentTrainingJobs: number; monthlyTrainingMinutes: number },
  ): Promise<void> {
    const [active, used] = await Promise.all([
      this.prisma.trainingJob.count({
        where: { tenantId, status: { in: ['queued', 'running'] } },
      }),
      this.prisma.trainingJob.aggregate({
        where: { tenantId, createdAt: { gte: startOfMonth() } },
        _sum: { trainingSeconds: true },
      }),
    ]);
    if (active >= limits.concurrentTrainingJobs) {
      throw new LimitExceededError(
        `the tenant already runs ${active} training jobs (limit ${limits.concurrentTrainingJobs})`,
        'concurrent-training-jobs-exceeded',
      );
    }
    if ((used._sum.trainingSeconds ?? 0) >= limits.monthlyTrainingMinutes * 60) {
      throw new LimitExceededError(
        'monthly training minutes quota exhausted',
        'monthly-training-quota-exceeded',
      );
    }
  }
}

function callerOf(principal: Principal): string {
  return principal.kind === 'api-key' ? `key:${principal.keyId}` : `user:${principal.userId}`;
}
