import { randomUUID } from 'node:crypto';
import type { Logger } from '@maas/app-runtime';
import type { ModelVersionsService } from '@maas/model-registry';
import { testRedisUrl } from '@maas/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CacheInvalidation,
  CacheInvalidationService,
} from '../auth/cache-invalidation.service.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { VersionQuarantine } from './version-quarantine.service.js';
import type { WorkerDirectory } from './worker-directory.service.js';
import type { LinkLossListener, WorkerLinkClient } from './worker-link.client.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const crasher = { tenantId: 't-a', versionId: 'v-crash', model: 'crash', version: 3 };

describe('VersionQuarantine (Redis)', () => {
  let redis: Redis;
  const prefix = `test-quarantine-${randomUUID().slice(0, 8)}`;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  /** A quarantine service on real Redis; the registry, cache and link are recording fakes. */
  function setup(windowMs = 600_000) {
    const quarantined: { tenantId: string; versionId: string; reason: string }[] = [];
    const published: CacheInvalidation[] = [];
    let onLost: LinkLossListener = () => undefined;
    const versions = {
      quarantineVersion: async (tenantId: string, versionId: string, reason: string) => {
        quarantined.push({ tenantId, versionId, reason });
        return true;
      },
    } as unknown as ModelVersionsService;
    const invalidation = {
      publish: async (event: CacheInvalidation) => void published.push(event),
    } as unknown as CacheInvalidationService;
    const directory = {
      idOfLink: (address: string) => (address === '10.0.0.1:8081' ? 'worker-1' : undefined),
    } as unknown as WorkerDirectory;
    const link = {
      onLost: (listener: LinkLossListener) => (onLost = listener),
    } as unknown as WorkerLinkClient;
    const ownPrefix = `${prefix}-${randomUUID().slice(0, 4)}`;
    const service = new VersionQuarantine(
      redis,
      {
        REDIS_PREFIX: ownPrefix,
        QUARANTINE_AFTER_LOSSES: 3,
        QUARANTINE_WINDOW_MS: windowMs,
      } as GatewayConfig,
      versions,
      invalidation,
      directory,
      silent as unknown as Logger,
      new Registry(),
      link,
    );
    const losses = () => redis.zcard(`${ownPrefix}:quarantine:losses:${crasher.versionId}`);
    return { service, quarantined, published, lost: () => onLost, losses };
  }

  it('quarantines after losses on three different workers, counting each worker once', async () => {
    const { service, quarantined, published } = setup();
    // Two gateways (or the link and HTTP) saw worker-1 stop: one loss.
    await service.recordLoss('worker-1', [crasher]);
    await service.recordLoss('worker-1', [crasher]);
    await service.recordLoss('worker-2', [crasher]);
    expect(quarantined).toEqual([]);
    await service.recordLoss('worker-3', [crasher]);
    expect(quarantined).toEqual([
      {
        tenantId: 't-a',
        versionId: 'v-crash',
        reason:
          'its requests stopped workers 3 times within 10 minutes; upload a new version or ask an admin',
      },
    ]);
    expect(published).toEqual([{ kind: 'model', tenantId: 't-a', model: 'crash' }]);
    // Counted from zero afterwards (a released version gets its full allowance again).
    await service.recordLoss('worker-4', [crasher]);
    expect(quarantined).toHaveLength(1);
  });

  it('blames what the link reports, under the id of the worker that listens there', async () => {
    const { service, quarantined, lost, losses } = setup();
    await service.recordLoss('worker-1', [crasher]);
    lost()('10.0.0.1:8081', [crasher]); // worker-1's link: the same stop
    lost()('10.0.0.2:8081', [crasher]); // unregistered: counted under its address
    await expect.poll(losses).toBe(2);
    // An admin's release forgets them: two more are not enough to quarantine it again.
    await service.forget(crasher.versionId);
    expect(await losses()).toBe(0);
    await service.recordLoss('worker-3', [crasher]);
    await service.recordLoss('worker-4', [crasher]);
    expect(quarantined).toEqual([]);
    await service.recordLoss('worker-5', [crasher]);
    expect(quarantined).toHaveLength(1);
  });

  it('forgets losses older than the window', async () => {
    const { service, quarantined } = setup(200);
    await service.recordLoss('worker-1', [crasher]);
    await service.recordLoss('worker-2', [crasher]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await service.recordLoss('worker-3', [crasher]);
    expect(quarantined).toEqual([]);
  });
});
