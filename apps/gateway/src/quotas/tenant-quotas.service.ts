import { Injectable } from '@nestjs/common';
import { PrismaService, type Tenant, type TenantQuota } from '@maas/db';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { TenantsService } from '../tenants/tenants.service.js';

/** A limit's override: a number, or null to put it back to the plan's default. */
type Override = number | null | undefined;

export interface TenantQuotaChanges {
  requestsPerSecond?: Override;
  burst?: Override;
  monthlyRequests?: Override;
  monthlyTrainingMinutes?: Override;
  concurrentTrainingJobs?: Override;
  storageBytes?: Override;
  maxModels?: Override;
}

/** A tenant's plan and the overrides of its limits (null: none set). */
export interface TenantQuotaOverrides {
  tenant: Tenant;
  overrides: TenantQuota | null;
}

/** The per-tenant overrides of plan limits that platform admins set. */
@Injectable()
export class TenantQuotasService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly tenants: TenantsService,
    private readonly invalidation: CacheInvalidationService,
  ) {}

  async get(tenantId: string): Promise<TenantQuotaOverrides> {
    const tenant = await this.tenants.get(tenantId);
    const overrides = await this.prisma
      .forTenant(tenant.id)
      .tenantQuota.findUnique({ where: { tenantId: tenant.id } });
    return { tenant, overrides };
  }

  /** Sets the given overrides; every gateway applies them within a second. */
  async set(tenantId: string, changes: TenantQuotaChanges): Promise<TenantQuotaOverrides> {
    const tenant = await this.tenants.get(tenantId);
    const data = {
      ...changes,
      monthlyRequests:
        changes.monthlyRequests == null ? changes.monthlyRequests : BigInt(changes.monthlyRequests),
      storageBytes:
        changes.storageBytes == null ? changes.storageBytes : BigInt(changes.storageBytes),
    };
    const overrides = await this.prisma.forTenant(tenant.id).tenantQuota.upsert({
      where: { tenantId: tenant.id },
      create: { tenantId: tenant.id, ...data },
      update: data,
    });
    await this.invalidation.publish({ kind: 'tenant', tenantId: tenant.id });
    return { tenant, overrides };
  }
}
