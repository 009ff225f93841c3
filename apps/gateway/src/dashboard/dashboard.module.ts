import { Module } from '@nestjs/common';
import { AdminTrainingJobsController } from './admin-training-jobs.controller.js';

/** Read-only views across tenants for the admin dashboard. */
@Module({ controllers: [AdminTrainingJobsController] })
export class DashboardModule {}
