import { Controller, Get, UseGuards } from '@nestjs/common';
import { effectiveLimits } from '@maas/config';
import { PrismaService } from '@maas/db';
import { StorageQuotaService } from '@maas/model-registry';
import { z } from 'zod';
import { apiKeyView, ApiKeyService } from '../auth/api-key.service.js';
import { TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId } from '../auth/principal.js';
import { json, page, type RouteSpecs } from '../docs/route-spec.js';
import { ApiKeyView, Limits } from '../docs/view-schemas.js';
import { currentMonth, startOfMonth } from './rate-limiter.service.js';
import { TenantQuotasService } from './tenant-quotas.service.js';
import { ACTIVE_TRAINING_STATUSES } from './training-quota.service.js';

const TenantQuotaUsageView = z
  .object({
    plan: z.string(),
    month: z.string().describe('the calendar month (UTC) monthly limits count, YYYY-MM'),
    effective: Limits.describe('the limits in effect (the plan with its overrides)'),
    used: z
      .object({
        monthlyRequests: z.number().describe('inference requests metered this month'),
        monthlyTrainingMinutes: z.number(),
        concurrentTrainingJobs: z.number(),
        storageBytes: z.number(),
        maxModels: z.number().describe('models the tenant has'),
      })
      .describe('what counts against each limit now'),
  })
  .meta({ id: 'TenantQuotaUsage' });

export const tenantAccountRouteSpecs: RouteSpecs = {
  'GET /api/quotas': {
    summary:
      "The calling tenant's limits and what counts against each now (this month's requests and training minutes, running jobs, stored bytes, models)",
    responses: { 200: json('Limits and use', TenantQuotaUsageView) },
  },
  'GET /api/api-keys': {
    summary: "The calling tenant's API keys: prefix, scopes, last use (never a secret)",
    responses: { 200: json('The keys', page(ApiKeyView)) },
  },
};

/**
 * What a tenant may see of its own account with any of its credentials: its limits and how
 * much of each it uses, and its API keys (metadata only; keys are created and revoked by an
 * admin).
 */
@Controller('api')
@UseGuards(TenantAuthGuard)
export class TenantAccountController {
  constructor(
    private readonly prisma: PrismaService,
    private readonly quotas: TenantQuotasService,
    private readonly storage: StorageQuotaService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  @Get('quotas')
  async quotaUsage(@CurrentTenantId() tenantId: string) {
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

  @Get('api-keys')
  async listKeys(@CurrentTenantId() tenantId: string) {
    const keys = await this.apiKeys.list(tenantId);
    return { items: keys.map(apiKeyView), nextCursor: null };
  }
}
