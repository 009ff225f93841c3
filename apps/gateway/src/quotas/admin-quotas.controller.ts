import { Body, Controller, Get, Param, Put, UseGuards } from '@nestjs/common';
import { ZodPipe } from '@maas/app-runtime';
import { effectiveLimits } from '@maas/config';
import type { TenantQuota } from '@maas/db';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
import { json, type RouteSpecs } from '../docs/route-spec.js';
import { QuotasView } from '../docs/view-schemas.js';
import { type TenantQuotaOverrides, TenantQuotasService } from './tenant-quotas.service.js';

const limit = z.number().int().positive().nullable().optional();
/** Any subset; null puts a limit back to the plan's default. */
const QuotasDto = z
  .object({
    requestsPerSecond: limit,
    burst: limit,
    monthlyRequests: limit,
    monthlyTrainingMinutes: limit,
    concurrentTrainingJobs: limit,
    storageBytes: limit,
    maxModels: limit,
  })
  .strict();

function overridesView(row: TenantQuota | null) {
  const num = (v: number | bigint | null | undefined) => (v == null ? null : Number(v));
  return {
    requestsPerSecond: num(row?.requestsPerSecond),
    burst: num(row?.burst),
    monthlyRequests: num(row?.monthlyRequests),
    monthlyTrainingMinutes: num(row?.monthlyTrainingMinutes),
    concurrentTrainingJobs: num(row?.concurrentTrainingJobs),
    storageBytes: num(row?.storageBytes),
    maxModels: num(row?.maxModels),
  };
}

function quotasView({ tenant, overrides }: TenantQuotaOverrides) {
  return {
    plan: tenant.plan,
    overrides: overridesView(overrides),
    effective: effectiveLimits(tenant.plan, overrides),
  };
}

export const adminQuotasRouteSpecs: RouteSpecs = {
  'GET /api/admin/tenants/{id}/quotas': {
    summary: "A tenant's plan, its overrides and the limits in effect",
    responses: { 200: json('Quotas', QuotasView) },
  },
  'PUT /api/admin/tenants/{id}/quotas': {
    summary: "Override a tenant's limits (null: back to the plan's default)",
    body: QuotasDto,
    responses: { 200: json('Quotas', QuotasView) },
  },
};

@Controller('api/admin/tenants')
@UseGuards(AdminGuard)
export class AdminQuotasController {
  constructor(private readonly quotas: TenantQuotasService) {}

  @Get(':id/quotas')
  async get(@Param('id') id: string) {
    return quotasView(await this.quotas.get(id));
  }

  @Put(':id/quotas')
  async put(
    @Param('id') id: string,
    @Body(new ZodPipe(QuotasDto)) body: z.infer<typeof QuotasDto>,
  ) {
    return quotasView(await this.quotas.set(id, body));
  }
}
