import { Body, Controller, Get, Param, Put, UseGuards } from '@nestjs/common';
import { ZodPipe } from '@maas/app-runtime';
import { effectiveLimits } from '@maas/config';
import { PrismaService, type TenantQuota } from '@maas/db';
import { z } from 'zod';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { AdminGuard } from '../auth/guards.js';
import { TenantsService } from '../tenants/tenants.service.js';

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

@Controller('api/admin/tenants')
@UseGuards(AdminGuard)
export class AdminQuotasController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly prisma: PrismaService,
    private readonly invalidation: CacheInvalidationService,
  ) {}

  @Get(':id/quotas')
  async get(@Param('id') id: string) {
    const tenant = await this.tenants.get(id);
    const row = await this.prisma.tenantQuota.findUnique({ where: { tenantId: tenant.id } });
    return this.view(tenant.plan, row);
  }

  @Put(':id/quotas')
  async put(
    @Param('id') id: string,
    @Body(new ZodPipe(QuotasDto)) body: z.infer<typeof QuotasDto>,
  ) {
    const tenant = await this.tenants.get(id);
    const data = {
      ...body,
      monthlyRequests:
        body.monthlyRequests == null ? body.monthlyRequests : BigInt(body.monthlyRequests),
      storageBytes: body.storageBytes == null ? body.storageBytes : BigInt(body.storageBytes),
    };
    const row = await this.prisma.tenantQuota.upsert({
      where: { tenantId: tenant.id },
      create: { tenantId: tenant.id, ...data },
      update: data,
    });
    await this.invalidation.publish({ kind: 'tenant', tenantId: tenant.id });
    return this.view(tenant.plan, row);
  }

  private view(plan: string, row: TenantQuota | null) {
    return {
      plan,
      overrides: overridesView(row),
      effective: effectiveLimits(plan, row),
    };
  }
}
