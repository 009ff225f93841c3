import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_LOGGER, type Logger, METRICS_REGISTRY } from '@maas/app-runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  type HealthJobData,
  type HealthJobResult,
  TrainingJobName,
  TRAINING_QUEUE,
  type TrainJobData,
} from '@maas/jobs';
import { chooseTfjsBackend } from '@maas/tfjs-runtime';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';
import { TrainJobHandler } from './train-job.handler.js';

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
  private queue?: Queue;
  private readonly jobsFinished: Counter<'state'>;
  private readonly jobDuration: Histogram<'state'>;

  constructor(
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    private readonly trainJobs: TrainJobHandler,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.jobsFinished = new Counter({
      name: 'maas_training_jobs_total',
      help: 'Training job runs finished on this trainer, by final state',
      labelNames: ['state'],
      registers: [registry],
    });
    this.jobDuration = new Histogram({
      name: 'maas_training_job_duration_seconds',
      help: 'Wall-clock time of training job runs, by final state',
      labelNames: ['state'],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
      registers: [registry],
    });
    const queue = () => this.queue;
    new Gauge({
      name: 'maas_training_queue_jobs',
      help: 'Jobs in the training queue, by BullMQ state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await queue()
          ?.getJobCounts('waiting', 'active', 'delayed', 'failed')
          .catch(() => undefined);
        for (const [state, count] of Object.entries(counts ?? {})) this.set({ state }, count);
      },
    });
  }

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
    this.queue = new Queue(TRAINING_QUEUE, {
      connection: this.connection,
      prefix: `${this.config.REDIS_PREFIX}:bull`,
    });
  }

  async onModuleDestroy(): Promise<void> {
    // Running jobs had their chance in drain(); what is left is recovered by another trainer.
    await this.worker?.close(true);
    await this.queue?.close();
    this.connection?.disconnect();
  }

  /**
   * On SIGTERM (before modules close): stop taking jobs and give running ones
   * TRAINER_DRAIN_TIMEOUT_MS to finish. Training can run for hours: past that, a job keeps its
   * lock until it expires and stalled-job recovery hands it to another trainer.
   */
  async drain(): Promise<void> {
    if (!this.worker) return;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.worker.pause(false).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.config.TRAINER_DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) await this.trainJobs.stopThreads();
    this.logger.info(
      { drained },
      drained ? 'running jobs finished' : 'left running jobs to recovery',
    );
  }

  private async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case TrainingJobName.Health:
        return this.health(job as Job<HealthJobData>);
      case TrainingJobName.Train:
        return this.measured(() => this.trainJobs.handle(job as Job<TrainJobData>));
      default:
        // Retrying cannot help a job this trainer does not know.
        throw new UnrecoverableError(`unknown job type '${job.name}'`);
    }
  }

  private async measured<T extends { status?: string }>(run: () => Promise<T>): Promise<T> {
    const stop = this.jobDuration.startTimer();
    let state = 'failed';
    try {
      const result = await run();
      state = result?.status ?? 'succeeded';
      return result;
    } finally {
      this.jobsFinished.inc({ state });
      stop({ state });
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
