import { hostname } from 'node:os';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from '@maas/app-runtime';
import {
  type HealthJobData,
  type HealthJobResult,
  TrainingJobName,
  TRAINING_QUEUE,
} from '@maas/jobs';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';
import { chooseTfjsBackend } from '../runtime/tfjs-backend.js';

export const TRAINER_LOGGER = Symbol('TRAINER_LOGGER');

/** The one consumer of the training queue. */
@Processor(TRAINING_QUEUE)
export class TrainingProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly trainerId = `${hostname()}:${process.pid}`;

  constructor(
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(TRAINER_LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.TRAINER_CONCURRENCY;
  }

  async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case TrainingJobName.Health:
        return this.health(job as Job<HealthJobData>);
      default:
        // Retrying cannot help a job this trainer does not know.
        throw new UnrecoverableError(`unknown job type '${job.name}'`);
    }
  }

  private health(job: Job<HealthJobData>): HealthJobResult {
    this.logger.info({ jobId: job.id, requestId: job.data.requestId }, 'health job');
    return {
      trainerId: this.trainerId,
      receivedAt: new Date().toISOString(),
      backend: chooseTfjsBackend(this.config.TFJS_BACKEND),
    };
  }
}
