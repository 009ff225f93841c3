import { Inject, Injectable } from '@nestjs/common';
import { APP_LOGGER, type Logger, METRICS_REGISTRY, REDIS } from '@maas/app-runtime';
import { ModelVersionsService } from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { WorkerDirectory } from './worker-directory.service.js';
import type { InFlightVersion } from './worker-loss.js';
import { WorkerLinkClient } from './worker-link.client.js';

function durationText(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return `${Math.ceil(ms / 1000)} seconds`;
}

/**
 * Counts the worker losses each version is blamed for (lossSuspects) and quarantines a version
 * blamed QUARANTINE_AFTER_LOSSES times within QUARANTINE_WINDOW_MS: its status becomes
 * `quarantined` with the reason, every gateway drops its cached resolution, and its requests
 * answer 503 until a new version is uploaded or an admin releases it. The count is a Redis
 * sorted set per version whose members are the workers that stopped (one per worker process):
 * the gateways that saw the same worker stop, over the link or HTTP, count it once.
 */
@Injectable()
export class VersionQuarantine {
  private readonly losses: Counter<'attributed'>;
  private readonly quarantines: Counter;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly versions: ModelVersionsService,
    private readonly invalidation: CacheInvalidationService,
    private readonly directory: WorkerDirectory,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) metrics: Registry,
    link: WorkerLinkClient,
  ) {
    this.losses = new Counter({
      name: 'maas_gateway_worker_losses_total',
      help: 'Worker connections lost with requests in flight, by whether the loss was blamed on versions (attributed) or not (several tenants, all with answers)',
      labelNames: ['attributed'],
      registers: [metrics],
    });
    this.quarantines = new Counter({
      name: 'maas_gateway_version_quarantines_total',
      help: 'Versions quarantined for stopping workers (QUARANTINE_AFTER_LOSSES within QUARANTINE_WINDOW_MS)',
      registers: [metrics],
    });
    link.onLost((address, suspects) => {
      void this.recordLoss(this.directory.idOfLink(address) ?? address, suspects);
    });
  }

  private key(versionId: string): string {
    return `${this.config.REDIS_PREFIX}:quarantine:losses:${versionId}`;
  }

  /**
   * `worker` (its id, or its address when it never registered) stopped while `suspects` had
   * requests in flight on it. Never throws: Redis or Postgres trouble is logged, and the
   * request that saw the loss has its answer already.
   */
  async recordLoss(worker: string, suspects: readonly InFlightVersion[]): Promise<void> {
    this.losses.inc({ attributed: String(suspects.length > 0) });
    for (const suspect of suspects) {
      try {
        await this.blame(worker, suspect);
      } catch (error) {
        this.logger.error(
          { err: error, versionId: suspect.versionId, worker },
          'could not record a worker loss against a version',
        );
      }
    }
  }

  private async blame(worker: string, suspect: InFlightVersion): Promise<void> {
    const key = this.key(suspect.versionId);
    const now = Date.now();
    const window = this.config.QUARANTINE_WINDOW_MS;
    const results = await this.redis
      .multi()
      .zadd(key, now, worker)
      .zremrangebyscore(key, '-inf', now - window)
      .zcard(key)
      .pexpire(key, window)
      .exec();
    const count = Number(results?.[2]?.[1] ?? 0);
    this.logger.warn(
      { ...suspect, worker, losses: count },
      'a worker stopped with requests of this version in flight',
    );
    if (count < this.config.QUARANTINE_AFTER_LOSSES) return;
    const reason = `its requests stopped workers ${count} times within ${durationText(window)}; upload a new version or ask an admin`;
    if (await this.versions.quarantineVersion(suspect.tenantId, suspect.versionId, reason)) {
      this.quarantines.inc();
      this.logger.warn({ ...suspect, losses: count }, 'version quarantined');
      await this.invalidation.publish({
        kind: 'model',
        tenantId: suspect.tenantId,
        model: suspect.model,
      });
    }
    // Released later, it starts from zero.
    await this.redis.del(key);
  }

  /** An admin released the version: its past losses no longer count. */
  async forget(versionId: string): Promise<void> {
    await this.redis.del(this.key(versionId));
  }
}
