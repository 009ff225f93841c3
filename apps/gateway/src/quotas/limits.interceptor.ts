import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { pathOf } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { finalize, type Observable } from 'rxjs';
import type { AuthenticatedRequest, Principal } from '../auth/principal.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { RateLimiterService } from './rate-limiter.service.js';
import { LimitExceededError, RequestLimits } from './request-limits.service.js';
import { TenantLimitsService } from './tenant-limits.service.js';

/** Long-lived by design, with a cap of their own (TrainingEventsNotifier). */
const EVENT_STREAM_ROUTE = /^\/api\/training-jobs\/[^/]+\/events$/;

/**
 * Rate limits and quotas for the tenant routes that go through Nest. Runs after the route's
 * auth guard (so the caller's tenant is known) and before the handler: each caller takes from
 * its own bucket; creating a model checks that quota. Inference requests take from the
 * tenant's bucket in the inference routes (inference-hot-path.ts, RequestLimits), which do
 * not pass through here. Training quotas are taken with the job's insert
 * (TrainingQuotaService), where they can be atomic.
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly requestLimits: RequestLimits,
    private readonly limiter: RateLimiterService,
    private readonly tenantLimits: TenantLimitsService,
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const principal = request.principal;
    const tenantId = principal?.tenantId;
    // Admin routes (platform admins act across tenants) and public routes are not limited.
    if (!principal || !tenantId || request.url.startsWith('/api/admin')) return next.handle();

    const result = await this.limiter.take({
      key: this.limiter.key('caller', callerOf(principal)),
      requestsPerSecond: this.config.API_KEY_REQUESTS_PER_SECOND,
      burst: this.config.API_KEY_BURST,
    });
    this.requestLimits.enforce(result, reply);
    const path = pathOf(request.url);
    // A tenant's requests in flight on this gateway are capped, so that one tenant's burst of
    // uploads or queries cannot take every database connection (and with them everyone's
    // latency); past the cap: 429, try again in a second.
    const release = EVENT_STREAM_ROUTE.test(path) ? () => undefined : this.enter(tenantId);
    try {
      if (`${request.method} ${path}` === 'POST /api/models') {
        const limits = await this.tenantLimits.limitsOf(tenantId);
        await this.checkModels(tenantId, limits.maxModels);
      }
    } catch (error) {
      release();
      throw error;
    }
    return next.handle().pipe(finalize(release));
  }

  private enter(tenantId: string): () => void {
    const inFlight = this.inFlight.get(tenantId) ?? 0;
    if (inFlight >= this.config.MAX_CONCURRENT_API_REQUESTS_PER_TENANT) {
      throw new LimitExceededError(
        `the tenant already has ${inFlight} requests in flight on this gateway (limit ${this.config.MAX_CONCURRENT_API_REQUESTS_PER_TENANT})`,
        'concurrent-requests-exceeded',
        1,
      );
    }
    this.inFlight.set(tenantId, inFlight + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(tenantId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(tenantId);
      else this.inFlight.set(tenantId, left);
    };
  }

  private async checkModels(tenantId: string, maxModels: number): Promise<void> {
    const count = await this.prisma.forTenant(tenantId).model.count({ where: { deletedAt: null } });
    if (count >= maxModels) {
      throw new LimitExceededError(
        `the tenant's quota of ${maxModels} models is reached`,
        'model-quota-exceeded',
      );
    }
  }
}

function callerOf(principal: Principal): string {
  return principal.kind === 'api-key' ? `key:${principal.keyId}` : `user:${principal.userId}`;
}
