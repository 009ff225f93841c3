import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_LOGGER, type Logger, REDIS } from '@maas/app-runtime';
import { publishHeartbeat, withdrawWorker, type WorkerInfo } from '@maas/worker-link';
import type { Redis } from 'ioredis';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { WorkerLinkServer } from '../inference/link-server.js';
import { ModelCacheService } from './model-cache.service.js';

/** Heartbeats missed before the gateway stops routing to a worker. */
const MISSED_HEARTBEATS = 3;

/**
 * Registers this worker in Redis (URL, capacity, loaded versions) and refreshes it every
 * WORKER_HEARTBEAT_MS; the gateway routes to the live ones. Withdrawn on shutdown.
 */
@Injectable()
export class WorkerHeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly id = `${hostname()}-${randomUUID().slice(0, 8)}`;
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    private readonly cache: ModelCacheService,
    private readonly link: WorkerLinkServer,
  ) {}

  get url(): string {
    if (this.config.WORKER_ADVERTISE_URL) return this.config.WORKER_ADVERTISE_URL;
    const host =
      this.config.HOST === '0.0.0.0' || this.config.HOST === '::' ? hostname() : this.config.HOST;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.config.PORT}`;
  }

  /** host:port of the worker link, on the host the URL names. */
  get linkAddress(): string {
    const { hostname: host } = new URL(this.url);
    return `${host}:${this.link.port}`;
  }

  info(): WorkerInfo {
    return {
      id: this.id,
      url: this.url,
      link: this.linkAddress,
      capacity: this.config.INSTANCE_CONCURRENCY,
      inFlight: this.cache.capacityInUse(),
      loadedVersions: this.cache.loadedVersionIds(),
      backends: this.cache.backends(),
      startedAt: this.startedAt,
      heartbeatAt: new Date().toISOString(),
    };
  }

  onApplicationBootstrap(): void {
    const beat = () => {
      if (this.stopped) return;
      publishHeartbeat(
        this.redis,
        this.config.REDIS_PREFIX,
        this.info(),
        this.config.WORKER_HEARTBEAT_MS * MISSED_HEARTBEATS,
      ).catch((error: unknown) => this.logger.warn({ err: error }, 'worker heartbeat failed'));
    };
    beat();
    this.timer = setInterval(beat, this.config.WORKER_HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Stops heartbeats and removes this worker from routing (at the start of draining). */
  async withdraw(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await withdrawWorker(this.redis, this.config.REDIS_PREFIX, this.id).catch(() => undefined);
  }

  onApplicationShutdown(): Promise<void> {
    return this.withdraw();
  }
}
