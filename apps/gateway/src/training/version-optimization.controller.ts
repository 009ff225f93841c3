import { Body, Controller, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { parseVersionNumber } from '@maas/model-registry';
import { type OptimizeRequest, optimizeRequestSchema } from '@maas/training';
import { TenantAuthGuard } from '../auth/guards.js';
import {
  actorOf,
  CurrentPrincipal,
  CurrentTenantId,
  type Principal,
  RequireScope,
} from '../auth/principal.js';
import { json, type RouteSpecs } from '../docs/route-spec.js';
import { TrainingJobView } from '../docs/view-schemas.js';
import { TrainingJobsService } from './training-jobs.service.js';

export const versionOptimizationRouteSpecs: RouteSpecs = {
  'POST /api/models/{name}/versions/{version}/optimize': {
    summary:
      'Optimise a ready ONNX version into a new one {quantize: int8|fp16|null, pruneSparsity: 0..0.95|null, maxAccuracyDrop (points, default 1), evaluation?: {inputs: v2 inputs}}: a job on the training queue (events, cancel, like training) whose version carries a report (size, latency at batch 1 and 32, accuracy); the job fails, registering nothing, past maxAccuracyDrop',
    body: optimizeRequestSchema,
    responses: { 202: json('The queued optimisation job (algorithm "optimize")', TrainingJobView) },
    errors: [404, 409, 422],
  },
};

/** Optimisation of a model version, queued like training (the trainer runs it). */
@Controller('api/models')
@UseGuards(TenantAuthGuard)
export class VersionOptimizationController {
  constructor(private readonly jobs: TrainingJobsService) {}

  @Post(':name/versions/:version/optimize')
  @HttpCode(202)
  @RequireScope('train')
  async optimize(
    @CurrentTenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Param('version') version: string,
    @Body(new ZodPipe(optimizeRequestSchema)) body: OptimizeRequest,
    @Req() request: FastifyRequest,
  ) {
    return this.jobs.createOptimization(tenantId, name, parseVersionNumber(version), body, {
      createdBy: actorOf(principal),
      requestId: request.id,
    });
  }
}
