import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue, QueueEvents } from 'bullmq';
import { APP_LOGGER, type Logger } from '@maas/app-runtime';
import {
  BENCHMARK_QUEUE,
  BenchmarkJobName,
  type LatencyJobData,
  type LatencyJobResult,
  roundTrip,
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
    const answer = await roundTrip<LatencyJobData, LatencyJobResult>(
      this.queue,
      this.events,
      BenchmarkJobName.Latency,
      data,
      this.config.TRAINER_WORKER_BENCHMARK_TIMEOUT_MS,
    );
    if (answer.ok) return answer.result;
    this.logger.warn({ reason: answer.reason }, 'no inference worker measured the versions');
    return null;
  }

  async onModuleDestroy(): Promise<void> {
    await this.events?.close();
    await this.queue?.close();
  }
}
