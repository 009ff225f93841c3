import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/guards.js';
import { json, page, type RouteSpecs } from '../docs/route-spec.js';
import { WorkerView } from '../docs/view-schemas.js';
import { WorkerOverviewService } from './worker-overview.service.js';

export const workersAdminRouteSpecs: RouteSpecs = {
  'GET /api/admin/workers': {
    summary: 'Live inference workers and the versions each has loaded',
    responses: { 200: json('Workers', page(WorkerView)) },
  },
};

/** `GET /api/admin/workers`: live inference workers and the versions each has loaded. */
@Controller('api/admin/workers')
@UseGuards(AdminGuard)
export class WorkersAdminController {
  constructor(private readonly workers: WorkerOverviewService) {}

  @Get()
  async list() {
    return { items: await this.workers.list(), nextCursor: null };
  }
}
