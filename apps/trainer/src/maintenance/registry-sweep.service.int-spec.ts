import { randomBytes, randomUUID } from 'node:crypto';
import { createLogger, createRedis } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { FsObjectStore, RegistryMaintenanceService, TenantDataKeys } from '@maas/model-registry';
import { testRedisUrl, useTestDatabase } from '@maas/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainerConfig } from '../config/trainer-config.js';
import { RegistrySweepService } from './registry-sweep.service.js';

// Against the real Postgres and Redis: the sweep prunes old usage batch ids, keeps recent ones.
describe('RegistrySweepService', () => {
  const db = useTestDatabase((url) => new PrismaService({ databaseUrl: url }));
  let redis: Redis;
  const prefix = `sweep-spec-${randomUUID().slice(0, 8)}`;
  const DAY = 86_400_000;

  beforeAll(() => {
    redis = createRedis(testRedisUrl(), 'sweep-spec');
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const sweep = () => {
    const prisma = db.client;
    return new RegistrySweepService(
      new RegistryMaintenanceService(
        prisma,
        new FsObjectStore(`/tmp/maas-sweep-${randomBytes(6).toString('hex')}`),
        new TenantDataKeys(prisma, { id: 'key-a', key: randomBytes(32) }),
      ),
      prisma,
      redis,
      {
        REDIS_PREFIX: prefix,
        REGISTRY_SWEEP_INTERVAL_MS: 600_000,
        USAGE_FLUSH_RETENTION_DAYS: 7,
      } as TrainerConfig,
      createLogger({ name: 'sweep-spec', level: 'silent' }),
    );
  };

  it('deletes usage_flushes rows older than the retention and keeps the newer ones', async () => {
    const prisma = db.client;
    const now = Date.now();
    const old = [randomUUID(), randomUUID()];
    const recent = [randomUUID(), randomUUID()];
    await prisma.usageFlush.createMany({
      data: [
        { id: old[0]!, appliedAt: new Date(now - 8 * DAY) },
        { id: old[1]!, appliedAt: new Date(now - 30 * DAY) },
        { id: recent[0]!, appliedAt: new Date(now - 6 * DAY) },
        { id: recent[1]!, appliedAt: new Date(now) },
      ],
    });

    await sweep().sweepOnce();

    const left = await prisma.usageFlush.findMany({ select: { id: true } });
    expect(left.map((row) => row.id).sort()).toEqual([...recent].sort());
    // One sweep per interval (the lease): a second trainer's sweep right after does nothing.
    await prisma.usageFlush.create({
      data: { id: randomUUID(), appliedAt: new Date(now - 9 * DAY) },
    });
    await sweep().sweepOnce();
    expect(await prisma.usageFlush.count()).toBe(3);
    // The next interval prunes it.
    await redis.del(`${prefix}:maintenance:registry-sweep`);
    await sweep().sweepOnce();
    expect(await prisma.usageFlush.count()).toBe(2);
  });
});
