import { Controller, Get, HttpCode, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
import { json, page, type RouteSpecs } from '../docs/route-spec.js';
import { AdminTrainingJobView } from '../docs/view-schemas.js';
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

  /** Round trip through the training queue: proves a trainer is consuming jobs. */
  @Post('trainer/ping')
  @HttpCode(200)
  ping(@Req() request: FastifyRequest) {
    return this.health.ping(request.id);
  }
}
