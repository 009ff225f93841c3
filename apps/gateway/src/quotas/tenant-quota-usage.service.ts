import { Injectable } from '@nestjs/common';
import { effectiveLimits } from '@maas/config';
import { PrismaService } from '@maas/db';
import { StorageQuotaService } from '@maas/model-registry';
import { currentMonth, startOfMonth } from './rate-limiter.service.js';
import { TenantQuotasService } from './tenant-quotas.service.js';
import { ACTIVE_TRAINING_STATUSES } from './training-quota.service.js';

/** A tenant's limits in effect and what counts against each now (GET /api/quotas). */
@Injectable()
export class TenantQuotaUsageService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly quotas: TenantQuotasService,
    private readonly storage: StorageQuotaService,
  ) {}

  async usage(tenantId: string) {
    const { tenant, overrides } = await this.quotas.get(tenantId);
    const db = this.prisma.forTenant(tenantId);
    const since = startOfMonth();
    const [requests, training, active, storageBytes, models] = await Promise.all([
      db.usageCounter.aggregate({ where: { hour: { gte: since } }, _sum: { requests: true } }),
      db.trainingJob.aggregate({
        where: { createdAt: { gte: since } },
        _sum: { trainingSeconds: true },
      }),
      db.trainingJob.count({ where: { status: { in: [...ACTIVE_TRAINING_STATUSES] } } }),
      this.storage.storageUsed(tenantId),
      db.model.count({ where: { deletedAt: null } }),
    ]);
    return {
      plan: tenant.plan,
      month: currentMonth(),
      effective: effectiveLimits(tenant.plan, overrides),
      used: {
        monthlyRequests: Number(requests._sum.requests ?? 0),
        monthlyTrainingMinutes: Math.round((training._sum.trainingSeconds ?? 0) / 6) / 10,
        concurrentTrainingJobs: active,
        storageBytes,
        maxModels: models,
      },
    };
  }
}
