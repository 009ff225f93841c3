import { randomUUID } from 'node:crypto';
import { createLogger, createRedis } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '@maas/testing';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import { UsageMeterService } from './usage-meter.service.js';

// Against the real Postgres and Redis: the flush protocol's crash windows.
describe('UsageMeterService', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let redis: Redis;
  let tenantId: string;
  const prefix = `usage-spec-${randomUUID().slice(0, 8)}`;
  const meter = () =>
    new UsageMeterService(
      redis,
      prisma,
      { REDIS_PREFIX: prefix, USAGE_FLUSH_MS: 60_000 } as GatewayConfig,
      createLogger({ name: 'usage-spec', level: 'silent' }),
      new Registry(),
    );
  const event = (rows: number, status = 200) => ({
    tenantId,
    apiKeyId: 'key-1',
    modelName: 'm',
    modelVersion: 1,
    rows,
    status,
    latencyMs: 3,
  });
  const totals = async () => {
    const rows = await prisma.usageCounter.findMany({ where: { tenantId } });
    return {
      requests: rows.reduce((sum, r) => sum + Number(r.requests), 0),
      rows: rows.reduce((sum, r) => sum + Number(r.rows), 0),
      errors: rows.reduce((sum, r) => sum + Number(r.errors), 0),
    };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
    redis = createRedis(testRedisUrl(), 'usage-spec');
    tenantId = (await prisma.tenant.create({ data: { name: `t-${randomUUID()}` } })).id;
  });

  afterAll(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await prisma.$disconnect();
    await database?.drop();
  });

  it('moves counted usage to Postgres and counts errors', async () => {
    const first = meter();
    first.record(event(4));
    first.record(event(2));
    first.record(event(0, 500));
    await first.flush();
    expect(await totals()).toEqual({ requests: 3, rows: 6, errors: 1 });
    await first.flush(); // nothing pending: nothing added
    expect(await totals()).toEqual({ requests: 3, rows: 6, errors: 1 });
  });

  it('never counts twice a batch applied before a crash that kept it from being acked', async () => {
    const crashed = meter();
    crashed.record(event(5));
    crashed.record(event(5));
    // Seal and apply like a flush, then "crash" before the ack: the batch stays in Redis.
    const [id] = await sealOnly(crashed);
    await crashed.apply(id);
    expect(await totals()).toEqual({ requests: 5, rows: 16, errors: 1 });
    // A restarted gateway (or another one) finds the batch, recognises it, and drops it.
    const restarted = meter();
    restarted.record(event(1));
    await restarted.flush();
    expect(await totals()).toEqual({ requests: 6, rows: 17, errors: 1 });
    expect(await redis.smembers(`${prefix}:usage:batches`)).toEqual([]);
  });

  it('applies a batch sealed before a crash that kept it from Postgres', async () => {
    const crashed = meter();
    crashed.record(event(7));
    await sealOnly(crashed);
    await meter().flush();
    expect(await totals()).toEqual({ requests: 7, rows: 24, errors: 1 });
  });

  /** The first half of a flush: pending → a batch of its own, not applied. */
  async function sealOnly(service: UsageMeterService): Promise<string[]> {
    const apply = service.apply.bind(service);
    const sealed: string[] = [];
    service.apply = (id: string) => {
      sealed.push(id);
      return Promise.reject(new Error('crash before the commit'));
    };
    await service.flush();
    service.apply = apply;
    return sealed;
  }
});
