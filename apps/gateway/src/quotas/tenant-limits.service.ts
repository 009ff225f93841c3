import { Inject, Injectable } from '@nestjs/common';
import { effectiveLimits, type TenantLimits } from '@maas/config';
import { PrismaService } from '@maas/db';
import { notFound } from '@maas/app-runtime';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

interface Cached {
  limits: TenantLimits;
  fetchedAt: number;
}

/** A tenant's limits in force (plan defaults + overrides), cached briefly per gateway. */
@Injectable()
export class TenantLimitsService {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    invalidation: CacheInvalidationService,
  ) {
    invalidation.onInvalidate((event) => {
      if (event.kind === 'tenant') this.cache.delete(event.tenantId);
    });
  }

  async limitsOf(tenantId: string): Promise<TenantLimits> {
    const cached = this.cache.get(tenantId);
    // Same bound as the key cache: a quota change is in force within a second everywhere.
    if (cached && Date.now() - cached.fetchedAt < this.config.API_KEY_CACHE_MS) {
      return cached.limits;
    }
    const tenant = await this.prisma.tenant.findUnique({
      where: { id: tenantId },
      include: { quota: true },
    });
    if (!tenant) throw notFound('tenant');
    const limits = effectiveLimits(tenant.plan, tenant.quota);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(tenantId, { limits, fetchedAt: Date.now() });
    return limits;
  }
}
