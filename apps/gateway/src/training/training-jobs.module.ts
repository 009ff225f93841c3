import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { TRAINING_JOB_DEFAULTS, TRAINING_QUEUE } from '@maas/jobs';
import { DatasetsModule } from '../datasets/datasets.module.js';
import { QuotasModule } from '../quotas/quotas.module.js';
import { TrainingEventsNotifier } from './training-events.notifier.js';
import { TrainingJobsController } from './training-jobs.controller.js';
import { TrainingJobsService } from './training-jobs.service.js';

@Module({
  imports: [
    DatasetsModule,
    QuotasModule,
    BullModule.registerQueue({
      name: TRAINING_QUEUE,
      defaultJobOptions: { ...TRAINING_JOB_DEFAULTS },
    }),
  ],
  controllers: [TrainingJobsController],
  providers: [TrainingJobsService, TrainingEventsNotifier],
})
export class TrainingJobsModule {}
