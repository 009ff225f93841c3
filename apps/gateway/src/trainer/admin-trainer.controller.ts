import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AdminGuard } from '../auth/guards.js';
import { TrainerHealthService } from './trainer-health.service.js';

@Controller('api/admin/trainer')
@UseGuards(AdminGuard)
export class AdminTrainerController {
  constructor(private readonly health: TrainerHealthService) {}

  /** Round trip through the training queue: proves a trainer is consuming jobs. */
  @Post('ping')
  @HttpCode(200)
  ping(@Req() request: FastifyRequest) {
    return this.health.ping(request.id);
  }
}
