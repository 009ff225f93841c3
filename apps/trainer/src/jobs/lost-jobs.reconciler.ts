import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_LOGGER, type Logger, METRICS_REGISTRY } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import {
  TRAINING_JOB_DEFAULTS,
  TRAINING_QUEUE,
  type TrainJobData,
  TrainingJobName,
} from '@maas/jobs';
import { Counter, type Registry } from 'prom-client';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';

/** Jobs looked at per pass (the oldest first); the next pass takes the rest. */
const BATCH = 500;

/**
 * PostgreSQL is the record of a training job; BullMQ in Redis only hands jobs to trainers. When
 * Redis loses its data (a restart without its append-only file, a failover to an empty replica)
 * or a gateway died between its insert and its enqueue, a job PostgreSQL still has as queued or
 * running has no BullMQ job, and no trainer would ever run it. Every TRAINER_RECONCILE_MS this
 * adds it to the queue again, under its own id (so an add that races another is a no-op); a job
 * is left alone for TRAINER_RECONCILE_MS after it was created, while its enqueue may be in
 * flight. Running it again is safe: a job's version is unique to it, so an attempt that finds
 * one registered adopts it.
 */
@Injectable()
export class LostJobsReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private queue?: Queue;
  private connection?: Redis;
  private readonly requeued: Counter;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.requeued = new Counter({
      name: 'maas_training_jobs_requeued_total',
      help: 'Queued or running training jobs that had no BullMQ job (Redis lost it) and were queued again',
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    const interval = this.config.TRAINER_RECONCILE_MS;
    if (interval === 0) return;
    this.connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.connection.on('error', () => undefined);
    this.queue = new Queue(TRAINING_QUEUE, {
      connection: this.connection,
      prefix: `${this.config.REDIS_PREFIX}:bull`,
    });
    this.queue.on('error', () => undefined);
    this.timer = setInterval(() => void this.reconcile(), interval);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.queue?.close();
    this.connection?.disconnect();
  }

  /** One pass; resolves with how many jobs were queued again (0 while Redis is unreachable). */
  reconcile(): Promise<number> {
    this.running ??= this.reconcileOnce()
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'lost training jobs not reconciled; will retry');
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcileOnce(): Promise<number> {
    const queue = this.queue;
    if (!queue) return 0;
    const jobs = await this.prisma.trainingJob.findMany({
      where: {
        status: { in: ['queued', 'running'] },
        createdAt: { lt: new Date(Date.now() - this.config.TRAINER_RECONCILE_MS) },
      },
      select: { id: true, tenantId: true, requestId: true },
      orderBy: { createdAt: 'asc' },
      take: BATCH,
    });
    let requeued = 0;
    for (const job of jobs) {
      if ((await queue.getJobState(job.id)) !== 'unknown') continue;
      const data: TrainJobData = {
        trainingJobId: job.id,
        tenantId: job.tenantId,
        ...(job.requestId && { requestId: job.requestId }),
      };
      await queue.add(TrainingJobName.Train, data, { ...TRAINING_JOB_DEFAULTS, jobId: job.id });
      requeued += 1;
      this.logger.warn({ trainingJobId: job.id }, 'training job had no queue entry; queued again');
    }
    this.requeued.inc(requeued);
    return requeued;
  }
}
