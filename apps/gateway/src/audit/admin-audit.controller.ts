import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
import { json, page, type RouteSpecs } from '../docs/route-spec.js';
import { AuditEntryView } from '../docs/view-schemas.js';
import { pageFields } from '../http/page-query.js';
import { AuditService } from './audit.service.js';

const uuid = z.uuid();
const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const AuditQueryDto = z.object({
  tenantId: uuid.optional(),
  actorId: z.string().max(200).optional(),
  action: z.string().max(200).optional(),
  targetType: z.string().max(200).optional(),
  targetId: z.string().max(200).optional(),
  from: instant.optional(),
  to: instant.optional(),
  ...pageFields(z.string().regex(/^\d{1,19}$/), { max: 500, fallback: 50 }),
});

export const adminAuditRouteSpecs: RouteSpecs = {
  'GET /api/admin/audit-log': {
    summary: 'The audit log, newest first',
    query: AuditQueryDto,
    responses: { 200: json('A page of entries', page(AuditEntryView)) },
  },
};

@Controller('api/admin/audit-log')
@UseGuards(AdminGuard)
export class AdminAuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(@Query(new ZodPipe(AuditQueryDto)) query: z.infer<typeof AuditQueryDto>) {
    return this.audit.list(query);
  }
}
