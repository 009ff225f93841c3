import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_LOGGER, type Logger, REDIS } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { RegistryMaintenanceService } from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { TRAINER_CONFIG, type TrainerConfig } from '../config/trainer-config.js';

/**
 * Periodically runs the registry's sweep (stuck uploads, bytes a crash left behind, deleted
 * models) and prunes the ids of usage batches applied more than USAGE_FLUSH_RETENTION_DAYS ago.
 * A Redis lease makes it one sweep per interval however many trainers run; the sweep is
 * idempotent, so a lease that expires mid-sweep costs nothing but work.
 */
@Injectable()
export class RegistrySweepService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly owner = randomUUID();

  constructor(
    private readonly maintenance: RegistryMaintenanceService,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.REGISTRY_SWEEP_INTERVAL_MS;
    if (interval === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.sweepOnce().finally(() => (this.running = undefined));
    }, interval);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async sweepOnce(): Promise<void> {
    const lease = `${this.config.REDIS_PREFIX}:maintenance:registry-sweep`;
    try {
      const acquired = await this.redis.set(
        lease,
        this.owner,
        'PX',
        this.config.REGISTRY_SWEEP_INTERVAL_MS,
        'NX',
      );
      if (acquired !== 'OK') return;
      const result = await this.maintenance.sweepDeletedArtifacts();
      const prunedUsageFlushes = await this.pruneUsageFlushes();
      if (
        result.removedObjects + result.interruptedUploads + result.purgedModels > 0 ||
        prunedUsageFlushes > 0
      ) {
        this.logger.info({ ...result, prunedUsageFlushes }, 'registry sweep');
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'registry sweep failed; next interval retries');
    }
  }

  /** Deletes usage_flushes rows older than the retention; returns how many. */
  async pruneUsageFlushes(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.USAGE_FLUSH_RETENTION_DAYS * 86_400_000);
    const { count } = await this.prisma.usageFlush.deleteMany({
      where: { appliedAt: { lt: cutoff } },
    });
    return count;
  }
}
