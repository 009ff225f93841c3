import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { TRAINING_JOB_DEFAULTS, TRAINING_QUEUE } from '@maas/jobs';
import { AdminTrainerController } from './admin-trainer.controller.js';
import { TrainerHealthService } from './trainer-health.service.js';

@Module({
  imports: [
    BullModule.registerQueue({
      name: TRAINING_QUEUE,
      defaultJobOptions: { ...TRAINING_JOB_DEFAULTS },
    }),
  ],
  controllers: [AdminTrainerController],
  providers: [TrainerHealthService],
})
export class TrainerModule {}
