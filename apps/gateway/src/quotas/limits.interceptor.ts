import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PrismaService } from '@maas/db';
import type { Observable } from 'rxjs';
import type { AuthenticatedRequest, Principal } from '../auth/principal.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { RateLimiterService } from './rate-limiter.service.js';
import { LimitExceededError, RequestLimits } from './request-limits.service.js';
import { TenantLimitsService } from './tenant-limits.service.js';

export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Rate limits and quotas for the tenant routes that go through Nest. Runs after the route's
 * auth guard (so the caller's tenant is known) and before the handler: each caller takes from
 * its own bucket; creating a model checks that quota. Inference requests take from the
 * tenant's bucket in the inference routes (inference-routes.ts, RequestLimits), which do
 * not pass through here. Training quotas are taken with the job's insert
 * (TrainingQuotaService), where they can be atomic.
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
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
    const route = `${request.method} ${pathOf(request.url)}`;
    if (route === 'POST /api/models') {
      const limits = await this.tenantLimits.limitsOf(tenantId);
      await this.checkModels(tenantId, limits.maxModels);
    }
    return next.handle();
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
