import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { DomainError, METRICS_REGISTRY } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import {
  currentMonth,
  RateLimiterService,
  secondsUntilNextMonth,
  startOfMonth,
  type TakeResult,
} from './rate-limiter.service.js';
import { TenantLimitsService } from './tenant-limits.service.js';

/** Where the RateLimit-* headers go: a Fastify reply, or the inference path's exchange. */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

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

/**
 * Request admission: an inference request takes one token from the tenant's bucket and one
 * request off its monthly quota in a single Redis call; any bucket's answer becomes the
 * RateLimit-* headers and the 429s every limited route shares.
 */
@Injectable()
export class RequestLimits {
  private readonly rejections: Counter<'reason'>;
  private readonly keys = new Map<string, { month: string; bucket: string; monthly: string }>();

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly limiter: RateLimiterService,
    private readonly tenantLimits: TenantLimitsService,
    private readonly prisma: PrismaService,
  ) {
    this.rejections = new Counter({
      name: 'maas_rate_limit_rejections_total',
      help: 'Requests refused by a rate limit or quota, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  /** Takes the tenant's token (headers set on `reply`) or throws the 429 / 503 to answer. */
  async admitInference(tenantId: string, reply: HeaderSink): Promise<void> {
    const limits = await this.tenantLimits.limitsOf(tenantId);
    const keys = this.keysOf(tenantId);
    const result = await this.limiter.take({
      key: keys.bucket,
      requestsPerSecond: limits.requestsPerSecond,
      burst: limits.burst,
      monthly: {
        key: keys.monthly,
        limit: limits.monthlyRequests,
        seed: () => this.meteredThisMonth(tenantId),
      },
    });
    this.enforce(result, reply);
  }

  /** A tenant's bucket and this month's quota keys, built once per tenant and month. */
  private keysOf(tenantId: string): { month: string; bucket: string; monthly: string } {
    const month = currentMonth();
    let keys = this.keys.get(tenantId);
    if (keys === undefined || keys.month !== month) {
      keys = {
        month,
        bucket: this.limiter.key('tenant', tenantId),
        monthly: this.limiter.monthlyRequestsKey(tenantId, month),
      };
      if (this.keys.size >= 10_000) this.keys.clear();
      this.keys.set(tenantId, keys);
    }
    return keys;
  }

  /** Sets RateLimit-* headers from a bucket's answer and throws when it refused. */
  enforce(result: TakeResult, reply: HeaderSink): void {
    if (result.outcome !== 'admitted') this.rejections.inc({ reason: result.outcome });
    if (result.outcome === 'monthly-quota-exceeded') {
      reply.header('ratelimit-limit', '0');
      throw new LimitExceededError(
        'monthly inference request quota exhausted',
        'monthly-quota-exceeded',
        secondsUntilNextMonth(),
      );
    }
    const resetSeconds = Math.max(0, Math.ceil(result.waitMs / 1000));
    reply.header('ratelimit-limit', String(result.limit));
    reply.header('ratelimit-remaining', String(result.remaining));
    reply.header('ratelimit-reset', String(resetSeconds));
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
    const sum = await this.prisma.forTenant(tenantId).usageCounter.aggregate({
      where: { hour: { gte: startOfMonth() } },
      _sum: { requests: true },
    });
    return Number(sum._sum.requests ?? 0);
  }
}
