import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '@maas/app-runtime';
import {
  type HealthJobData,
  type HealthJobResult,
  TrainingJobName,
  TRAINING_QUEUE,
  type TrainJobData,
} from '@maas/jobs';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';
import { chooseTfjsBackend } from '../runtime/tfjs-backend.js';
import { TRAINER_LOGGER, TrainJobHandler } from './train-job.handler.js';

/**
 * The one consumer of the training queue. A plain BullMQ Worker rather than a @Processor class:
 * its lock and stalled-check timings come from the validated config (a decorator's options are
 * fixed at import time), and they decide how fast a killed trainer's job is picked up again.
 */
@Injectable()
export class TrainingWorkerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly trainerId = `${hostname()}:${process.pid}`;
  private connection?: Redis;
  private worker?: Worker;

  constructor(
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(TRAINER_LOGGER) private readonly logger: Logger,
    private readonly trainJobs: TrainJobHandler,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.worker = new Worker(TRAINING_QUEUE, (job) => this.process(job), {
      connection: this.connection,
      prefix: `${this.config.REDIS_PREFIX}:bull`,
      concurrency: this.config.TRAINER_CONCURRENCY,
      lockDuration: this.config.TRAINER_LOCK_DURATION_MS,
      stalledInterval: this.config.TRAINER_STALLED_INTERVAL_MS,
      maxStalledCount: 2,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'training worker error'));
  }

  async onModuleDestroy(): Promise<void> {
    // Training can run for hours: do not hold shutdown for it. The running job keeps its
    // lock until it expires, then stalled-job recovery hands it to another trainer.
    await this.worker?.close(true);
    this.connection?.disconnect();
  }

  private async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case TrainingJobName.Health:
        return this.health(job as Job<HealthJobData>);
      case TrainingJobName.Train:
        return this.trainJobs.handle(job as Job<TrainJobData>);
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
