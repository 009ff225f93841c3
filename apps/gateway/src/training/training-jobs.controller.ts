import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { trainingRequestSchema, type TrainingRequest } from '@maas/training';
import { z } from 'zod';
import { TenantAuthGuard } from '../auth/guards.js';
import {
  actorOf,
  CurrentPrincipal,
  CurrentTenantId,
  type Principal,
  RequireScope,
} from '../auth/principal.js';
import { json, page, type RawContent, type RouteSpecs } from '../docs/route-spec.js';
import { TrainingJobView } from '../docs/view-schemas.js';
import { PageQuery } from '../http/page-query.js';
import { TrainingEventsNotifier } from './training-events.notifier.js';
import { streamTrainingEvents } from './training-events.stream.js';
import { TRAINING_JOB_STATUSES, TrainingJobsService } from './training-jobs.service.js';

const TrainingJobListQuery = PageQuery.extend({
  status: z.enum(TRAINING_JOB_STATUSES).optional(),
});

const idParams = z.object({ id: z.uuid() });
const EVENT_STREAM: RawContent[] = [
  {
    contentType: 'text/event-stream',
    schema: { type: 'string', description: 'id: <seq>, event: progress | state, data: JSON' },
  },
];

export const trainingJobsRouteSpecs: RouteSpecs = {
  'POST /api/training-jobs': {
    summary:
      'Start a training job {datasetId, target, features?, algorithm: mlp|decision_tree, task, hyperparameters (mlp: … targetLoss), modelName}',
    body: trainingRequestSchema,
    responses: { 201: json('The queued job', TrainingJobView) },
    errors: [409, 422],
  },
  'GET /api/training-jobs': {
    summary: "The tenant's training jobs, newest first",
    query: TrainingJobListQuery,
    responses: { 200: json('A page of jobs', page(TrainingJobView)) },
  },
  'GET /api/training-jobs/{id}': {
    summary: 'A training job',
    params: idParams,
    responses: { 200: json('The job', TrainingJobView) },
  },
  'POST /api/training-jobs/{id}/cancel': {
    summary: 'Cancel a job (a finished job is answered as it is)',
    params: idParams,
    responses: { 200: json('The job', TrainingJobView) },
    errors: [409],
  },
  'GET /api/training-jobs/{id}/events': {
    summary: 'Server-sent events: replay, live progress, then the final state',
    params: idParams,
    headers: { 'Last-Event-ID': { description: 'Resume after this event id' } },
    responses: { 200: { description: 'An event stream', content: EVENT_STREAM } },
  },
};

@Controller('api/training-jobs')
@UseGuards(TenantAuthGuard)
export class TrainingJobsController {
  constructor(
    private readonly jobs: TrainingJobsService,
    private readonly notifier: TrainingEventsNotifier,
  ) {}

  @Post()
  @RequireScope('train')
  async create(
    @CurrentTenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(trainingRequestSchema)) body: TrainingRequest,
    @Req() request: FastifyRequest,
  ) {
    return this.jobs.create(tenantId, body, {
      createdBy: actorOf(principal),
      requestId: request.id,
    });
  }

  @Get()
  @RequireScope('train')
  async list(
    @CurrentTenantId() tenantId: string,
    @Query(new ZodPipe(TrainingJobListQuery)) query: z.infer<typeof TrainingJobListQuery>,
  ) {
    return this.jobs.list(tenantId, query);
  }

  @Get(':id')
  @RequireScope('train')
  async get(@CurrentTenantId() tenantId: string, @Param('id') id: string) {
    return this.jobs.get(tenantId, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScope('train')
  async cancel(@CurrentTenantId() tenantId: string, @Param('id') id: string) {
    return this.jobs.cancel(tenantId, id);
  }

  /** Server-sent events: replay, live progress, then the final state. */
  @Get(':id/events')
  @RequireScope('train')
  async events(
    @CurrentTenantId() tenantId: string,
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // 429 before anything else (no database work for streams over the cap), then 404 as
    // problem+json, both before the stream starts.
    const release = this.notifier.openStream(tenantId);
    try {
      await this.jobs.find(tenantId, id);
      const after = lastEventId && /^\d{1,18}$/.test(lastEventId) ? BigInt(lastEventId) : 0n;
      reply.hijack();
      await streamTrainingEvents(this.jobs, this.notifier, tenantId, id, reply.raw, after);
    } finally {
      release();
    }
  }
}
