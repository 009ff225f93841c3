import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/guards.js';
import { WorkerOverviewService } from './worker-overview.service.js';

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
