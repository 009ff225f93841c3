import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { APP_LOGGER, type Logger } from '@maas/app-runtime';
import {
  BENCHMARK_QUEUE,
  BenchmarkJobName,
  type LatencyJobData,
  type LatencyJobResult,
} from '@maas/jobs';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';

/**
 * Asks an inference worker (the benchmark queue) to time versions as it serves them, and waits
 * up to TRAINER_WORKER_BENCHMARK_TIMEOUT_MS for the answer: null when no worker answered (none
 * running, or all too busy), so the caller can measure another way and say so.
 */
@Injectable()
export class WorkerLatencyClient implements OnModuleDestroy {
  private queue?: Queue;
  private events?: QueueEvents;

  constructor(
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  async measure(data: LatencyJobData): Promise<LatencyJobResult | null> {
    const connection = { url: this.config.REDIS_URL };
    const prefix = `${this.config.REDIS_PREFIX}:bull`;
    this.queue ??= new Queue(BENCHMARK_QUEUE, { connection, prefix });
    this.events ??= new QueueEvents(BENCHMARK_QUEUE, { connection, prefix });
    await this.events.waitUntilReady();
    const job: Job<LatencyJobData, LatencyJobResult> = await this.queue.add(
      BenchmarkJobName.Latency,
      data,
      {
        attempts: 1,
        // Kept briefly: waitUntilFinished reads the result, which a removed job no longer has.
        removeOnComplete: { age: 300 },
        removeOnFail: { age: 300 },
      },
    );
    try {
      return (await job.waitUntilFinished(
        this.events,
        this.config.TRAINER_WORKER_BENCHMARK_TIMEOUT_MS,
      )) as LatencyJobResult;
    } catch (error) {
      // Still waiting: take it back, so no worker runs it for nobody.
      await job.remove().catch(() => undefined);
      this.logger.warn(
        { jobId: job.id, reason: (error as Error).message },
        'no inference worker measured the versions',
      );
      return null;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.events?.close();
    await this.queue?.close();
  }
}
