import { Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
import { json, page, type RouteSpecs } from '../docs/route-spec.js';
import { actorOf, CurrentPrincipal, type Principal } from '../auth/principal.js';
import { AdminTrainingJobView, TrainingJobView } from '../docs/view-schemas.js';
import { pageFields } from '../http/page-query.js';
import { TrainerHealthService } from './trainer-health.service.js';
import { TRAINING_JOB_STATUSES, TrainingJobsService } from './training-jobs.service.js';

const AdminTrainingJobsQuery = z.object({
  tenantId: z.uuid().optional(),
  status: z.enum(TRAINING_JOB_STATUSES).optional(),
  /** cursor: the last id of the previous page */
  ...pageFields(z.uuid()),
});

export const adminTrainingRouteSpecs: RouteSpecs = {
  'GET /api/admin/training-jobs': {
    summary: 'Training jobs across tenants, newest first',
    query: AdminTrainingJobsQuery,
    responses: { 200: json('A page of jobs', page(AdminTrainingJobView)) },
  },
  'POST /api/admin/training-jobs/{id}/cancel': {
    summary: "Cancel any tenant's queued or running job (a finished job is answered as it is)",
    params: z.object({ id: z.uuid() }),
    responses: { 200: json('The job', TrainingJobView) },
  },
  'POST /api/admin/training-jobs/{id}/retry': {
    summary:
      "Run a failed or cancelled job again: a new job with the same spec, counted against the tenant's training quota",
    params: z.object({ id: z.uuid() }),
    responses: { 201: json('The new job', TrainingJobView) },
    errors: [409, 429],
  },
  'POST /api/admin/trainer/ping': {
    summary: 'Round trip through the training queue: proves a trainer is consuming jobs',
    responses: {
      200: json('A trainer answered', z.object({ roundTripMs: z.number() }).loose()),
    },
    errors: [504],
  },
};

/** Training for platform admins: jobs across tenants (the dashboard) and the trainer's health. */
@Controller('api/admin')
@UseGuards(AdminGuard)
export class AdminTrainingController {
  constructor(
    private readonly jobs: TrainingJobsService,
    private readonly health: TrainerHealthService,
  ) {}

  /** Training jobs across tenants, newest first. */
  @Get('training-jobs')
  async listJobs(
    @Query(new ZodPipe(AdminTrainingJobsQuery)) query: z.infer<typeof AdminTrainingJobsQuery>,
  ) {
    return this.jobs.listAcrossTenants(query);
  }

  @Post('training-jobs/:id/cancel')
  @HttpCode(200)
  async cancelJob(@Param('id') id: string) {
    return this.jobs.cancel(await this.jobs.tenantOfJob(id), id);
  }

  @Post('training-jobs/:id/retry')
  async retryJob(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
  ) {
    return this.jobs.retry(await this.jobs.tenantOfJob(id), id, {
      createdBy: actorOf(principal),
      requestId: request.id,
    });
  }

  /** Round trip through the training queue: proves a trainer is consuming jobs. */
  @Post('trainer/ping')
  @HttpCode(200)
  ping(@Req() request: FastifyRequest) {
    return this.health.ping(request.id);
  }
}
