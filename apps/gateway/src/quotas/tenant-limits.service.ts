import { Inject, Injectable } from '@nestjs/common';
import { effectiveLimits, type TenantLimits } from '@maas/config';
import { PrismaService } from '@maas/db';
import { notFound, TtlCache } from '@maas/app-runtime';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/** A tenant's limits in force (plan defaults + overrides), cached briefly per gateway. */
@Injectable()
export class TenantLimitsService {
  // Same bound as the key cache: a quota change is in force within it everywhere.
  private readonly cache: TtlCache<TenantLimits>;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    invalidation: CacheInvalidationService,
  ) {
    // Served stale (refreshed in the background) for up to STALE_IF_ERROR_MS: a busy or
    // unreachable PostgreSQL does not stall inference for limits known a moment before.
    this.cache = new TtlCache(config.API_KEY_CACHE_MS, {
      staleMs: config.STALE_IF_ERROR_MS,
      isDefinitive: (error) => (error as { code?: string }).code === 'NOT_FOUND',
    });
    invalidation.onInvalidate((event) => {
      if (event.kind === 'tenant') this.cache.delete(event.tenantId);
    });
  }

  limitsOf(tenantId: string): Promise<TenantLimits> {
    return this.cache.get(tenantId, async () => {
      const tenant = await this.prisma.tenant.findUnique({
        where: { id: tenantId },
        include: { quota: true },
      });
      if (!tenant) throw notFound('tenant');
      return effectiveLimits(tenant.plan, tenant.quota);
    });
  }
}
