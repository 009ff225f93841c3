import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { TRAINING_JOB_DEFAULTS, TRAINING_QUEUE } from '@maas/jobs';
import { DatasetsModule } from '../datasets/datasets.module.js';
import { QuotasModule } from '../quotas/quotas.module.js';
import { AdminTrainingController } from './admin-training.controller.js';
import { EventStreamAdmission } from './event-stream-admission.js';
import { TrainerHealthService } from './trainer-health.service.js';
import { TrainingEventsNotifier } from './training-events.notifier.js';
import { TrainingJobsController } from './training-jobs.controller.js';
import { TrainingJobsService } from './training-jobs.service.js';
import { VersionOptimizationController } from './version-optimization.controller.js';

/**
 * Training as the gateway serves it: tenants' jobs (create, list, cancel, live events) and the
 * platform admin's view across tenants plus the trainer round trip. The gateway only queues;
 * the trainer app runs the jobs.
 */
@Module({
  imports: [
    DatasetsModule,
    QuotasModule,
    BullModule.registerQueue({
      name: TRAINING_QUEUE,
      defaultJobOptions: { ...TRAINING_JOB_DEFAULTS },
    }),
  ],
  controllers: [TrainingJobsController, VersionOptimizationController, AdminTrainingController],
  providers: [
    TrainingJobsService,
    TrainingEventsNotifier,
    TrainerHealthService,
    EventStreamAdmission,
  ],
})
export class TrainingModule {}
