import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue, QueueEvents } from 'bullmq';
import { DomainError } from '@maas/app-runtime';
import {
  type HealthJobData,
  type HealthJobResult,
  TrainingJobName,
  TRAINING_QUEUE,
  roundTrip,
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
    await this.events.waitUntilReady(); // not counted in the round trip
    const started = Date.now();
    const data: HealthJobData = { requestedAt: new Date().toISOString(), requestId };
    const answer = await roundTrip<HealthJobData, HealthJobResult>(
      this.queue,
      this.events,
      TrainingJobName.Health,
      data,
      PING_TIMEOUT_MS,
    );
    if (!answer.ok) throw new DomainError('UNAVAILABLE', 'no trainer answered within 10 s');
    return { ...answer.result, roundTripMs: Date.now() - started };
  }

  async onModuleDestroy(): Promise<void> {
    await this.events?.close();
  }
}
