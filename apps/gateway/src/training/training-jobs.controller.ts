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
import { PageQuery } from '../http/page-query.js';
import { TrainingEventsNotifier } from './training-events.notifier.js';
import { streamTrainingEvents } from './training-events.stream.js';
import { TRAINING_JOB_STATUSES, TrainingJobsService } from './training-jobs.service.js';

const TrainingJobListQuery = PageQuery.extend({
  status: z.enum(TRAINING_JOB_STATUSES).optional(),
});

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
