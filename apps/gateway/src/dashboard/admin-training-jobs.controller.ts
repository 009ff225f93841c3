import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ZodPipe } from '@maas/app-runtime';
import { PrismaService, type TrainingJob } from '@maas/db';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
import { pageFields } from '../http/page-query.js';

const AdminTrainingJobsQuery = z.object({
  tenantId: z.uuid().optional(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  /** cursor: the last id of the previous page */
  ...pageFields(z.uuid()),
});

function jobView(job: TrainingJob & { tenant: { name: string } }) {
  return {
    id: job.id,
    tenantId: job.tenantId,
    tenantName: job.tenant.name,
    modelName: job.modelName,
    algorithm: job.algorithm,
    task: job.task,
    status: job.status,
    progress: job.progress,
    backend: job.backend,
    error: job.error,
    attempts: job.attempts,
    trainingSeconds: job.trainingSeconds,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** Training jobs across tenants, newest first, for the dashboard. */
@Controller('api/admin/training-jobs')
@UseGuards(AdminGuard)
export class AdminTrainingJobsController {
  constructor(private readonly prisma: PrismaService) {}

  @Get()
  async list(
    @Query(new ZodPipe(AdminTrainingJobsQuery)) query: z.infer<typeof AdminTrainingJobsQuery>,
  ) {
    const rows = await this.prisma.trainingJob.findMany({
      where: { tenantId: query.tenantId, status: query.status },
      include: { tenant: { select: { name: true } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      cursor: query.cursor ? { id: query.cursor } : undefined,
      skip: query.cursor ? 1 : 0,
      take: query.limit + 1,
    });
    const items = rows.slice(0, query.limit);
    return {
      items: items.map(jobView),
      nextCursor: rows.length > query.limit ? items[items.length - 1].id : null,
    };
  }
}
