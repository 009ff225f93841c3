import { Controller, Get, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { apiKeyView, ApiKeyService } from '../auth/api-key.service.js';
import { TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId } from '../auth/principal.js';
import { json, page, type RouteSpecs } from '../docs/route-spec.js';
import { ApiKeyView, Limits } from '../docs/view-schemas.js';
import { TenantQuotaUsageService } from './tenant-quota-usage.service.js';

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
    private readonly usage: TenantQuotaUsageService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  @Get('quotas')
  quotaUsage(@CurrentTenantId() tenantId: string) {
    return this.usage.usage(tenantId);
  }

  @Get('api-keys')
  async listKeys(@CurrentTenantId() tenantId: string) {
    const keys = await this.apiKeys.list(tenantId);
    return { items: keys.map(apiKeyView), nextCursor: null };
  }
}
