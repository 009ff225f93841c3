import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { invalidArgument, ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { AdminGuard, TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId, RequireScope } from '../auth/principal.js';
import { json, type RouteSpecs } from '../docs/route-spec.js';
import { UsageView } from '../docs/view-schemas.js';
import { assertUuid } from '../tenants/tenants.service.js';
import { type UsageGroupBy, UsageQueryService } from './usage-query.service.js';

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const UsageQueryDto = z.object({
  from: instant.optional(),
  to: instant.optional(),
  groupBy: z.enum(['day', 'model', 'key']).default('day'),
});
const AdminUsageQueryDto = UsageQueryDto.extend({
  tenantId: z.string().optional(),
  groupBy: z.enum(['day', 'model', 'key', 'tenant']).default('tenant'),
});

export const usageRouteSpecs: RouteSpecs = {
  'GET /api/usage': {
    summary: "The tenant's usage (from the start of this month to now by default)",
    query: UsageQueryDto,
    responses: { 200: json('Usage', UsageView) },
  },
  'GET /api/admin/usage': {
    summary: "Usage across tenants, or one tenant's",
    query: AdminUsageQueryDto,
    responses: { 200: json('Usage', UsageView) },
  },
};

/** Defaults: from the start of this month (UTC) to now. */
function range(from?: Date, to?: Date): { from: Date; to: Date } {
  const now = new Date();
  const start = from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = to ?? now;
  if (start.getTime() > end.getTime()) throw invalidArgument('from must not be after to');
  return { from: start, to: end };
}

@Controller('api/usage')
@UseGuards(TenantAuthGuard)
export class UsageController {
  constructor(private readonly usage: UsageQueryService) {}

  @Get()
  @RequireScope('usage:read')
  get(
    @CurrentTenantId() tenantId: string,
    @Query(new ZodPipe(UsageQueryDto)) query: z.infer<typeof UsageQueryDto>,
  ) {
    return this.usage.query({ tenantId, ...range(query.from, query.to), groupBy: query.groupBy });
  }
}

@Controller('api/admin/usage')
@UseGuards(AdminGuard)
export class AdminUsageController {
  constructor(private readonly usage: UsageQueryService) {}

  @Get()
  get(@Query(new ZodPipe(AdminUsageQueryDto)) query: z.infer<typeof AdminUsageQueryDto>) {
    if (query.tenantId) assertUuid(query.tenantId, 'tenant');
    return this.usage.query({
      tenantId: query.tenantId,
      ...range(query.from, query.to),
      groupBy: query.groupBy as UsageGroupBy,
    });
  }
}
