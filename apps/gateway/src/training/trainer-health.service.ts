import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { DomainError } from '@maas/app-runtime';
import {
  type HealthJobData,
  type HealthJobResult,
  TrainingJobName,
  TRAINING_QUEUE,
} from '@maas/jobs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

const PING_TIMEOUT_MS = 10_000;

/** Sends a health job through the training queue and waits for a trainer to answer it. */
@Injectable()
export class TrainerHealthService implements OnModuleDestroy {
  private events?: QueueEvents;

  constructor(
    @InjectQueue(TRAINING_QUEUE) private readonly queue: Queue,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async ping(requestId: string): Promise<HealthJobResult & { roundTripMs: number }> {
    this.events ??= new QueueEvents(TRAINING_QUEUE, {
      connection: { url: this.config.REDIS_URL },
      prefix: `${this.config.REDIS_PREFIX}:bull`,
    });
    await this.events.waitUntilReady();
    const started = Date.now();
    const data: HealthJobData = { requestedAt: new Date().toISOString(), requestId };
    const job: Job<HealthJobData, HealthJobResult> = await this.queue.add(
      TrainingJobName.Health,
      data,
      {
        attempts: 1,
        // Kept briefly: waitUntilFinished reads the result, which a removed job no longer has.
        removeOnComplete: { age: 60 },
        removeOnFail: { age: 60 },
      },
    );
    try {
      const result = (await job.waitUntilFinished(this.events, PING_TIMEOUT_MS)) as HealthJobResult;
      return { ...result, roundTripMs: Date.now() - started };
    } catch {
      await job.remove().catch(() => undefined);
      throw new DomainError('UNAVAILABLE', 'no trainer answered within 10 s');
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.events?.close();
  }
}
