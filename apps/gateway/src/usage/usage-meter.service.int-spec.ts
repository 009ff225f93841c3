import { randomUUID } from 'node:crypto';
import { createLogger, createRedis } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '@maas/testing';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import { MAX_BATCH_ATTEMPTS, UsageMeterService } from './usage-meter.service.js';

// Against the real Postgres and Redis: the flush protocol's crash windows.
describe('UsageMeterService', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let redis: Redis;
  let tenantId: string;
  const prefix = `usage-spec-${randomUUID().slice(0, 8)}`;
  const meter = (flushMs = 60_000, client: Redis = redis) =>
    new UsageMeterService(
      client,
      prisma,
      {
        REDIS_PREFIX: prefix,
        USAGE_FLUSH_MS: flushMs,
        USAGE_OPEN_BATCH_GRACE_MS: 1_000,
        LIMITS_REDIS_TIMEOUT_MS: 1_000,
      } as GatewayConfig,
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

  it('counts each request under its own key, model, version and hour, however they interleave', async () => {
    const service = meter();
    // A tenant of its own: the other cases count this file's tenant's totals.
    const own = (await prisma.tenant.create({ data: { name: `t-${randomUUID()}` } })).id;
    const hourAgo = new Date(Date.now() - 3_600_000);
    const sent = [
      { ...event(1), tenantId: own, apiKeyId: 'key-a', modelName: 'split', modelVersion: 1 },
      { ...event(2), tenantId: own, apiKeyId: 'key-a', modelName: 'split', modelVersion: 2 },
      { ...event(4), tenantId: own, apiKeyId: 'key-b', modelName: 'split', modelVersion: 2 },
      { ...event(8), tenantId: own, apiKeyId: 'key-b', modelName: 'other', modelVersion: 2 },
      {
        ...event(16),
        tenantId: own,
        apiKeyId: 'key-b',
        modelName: 'other',
        modelVersion: 2,
        at: hourAgo,
      },
      { ...event(32), tenantId: own, apiKeyId: 'key-a', modelName: 'split', modelVersion: 1 },
    ];
    for (const e of sent) service.record(e);
    await service.flush();
    const rows = (await prisma.usageCounter.findMany({ where: { tenantId: own } }))
      .map((row) => {
        const when = row.hour.getTime() < hourAgo.getTime() ? 'earlier' : 'now';
        return `${row.apiKeyId} ${row.modelName} v${row.modelVersion} ${when}: ${row.rows}`;
      })
      .sort();
    expect(rows).toEqual([
      'key-a split v1 now: 33',
      'key-a split v2 now: 2',
      'key-b other v2 earlier: 16',
      'key-b other v2 now: 8',
      'key-b split v2 now: 4',
    ]);
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

  const quarantinedCount = async (registry: Registry, reason: string) =>
    (await registry.getSingleMetric('maas_usage_quarantined_total')!.get()).values.find(
      (v) => v.labels.reason === reason,
    )?.value ?? 0;

  it('quarantines counter rows Postgres cannot store and flushes the rest of their batch', async () => {
    const before = await totals();
    const registry = new Registry();
    const service = new UsageMeterService(
      redis,
      prisma,
      { REDIS_PREFIX: prefix, USAGE_FLUSH_MS: 60_000 } as GatewayConfig,
      createLogger({ name: 'usage-spec', level: 'silent' }),
      registry,
    );
    service.record({ ...event(3), modelName: 'nul\u0000name' });
    service.record({ ...event(3), tenantId: 'not-a-uuid' });
    service.record(event(2));
    await service.flush();
    // The storable row reached Postgres although its batch held two that cannot.
    expect(await totals()).toEqual({
      ...before,
      requests: before.requests + 1,
      rows: before.rows + 2,
    });
    expect(await redis.smembers(`${prefix}:usage:batches`)).toEqual([]);
    const [batch] = await redis.smembers(`${prefix}:usage:quarantined`);
    const kept = await redis.hgetall(`${prefix}:usage:quarantine:${batch}`);
    expect(Object.keys(kept).filter((f) => f.startsWith('requests '))).toHaveLength(2);
    expect(Object.keys(kept).some((f) => f.includes('nul\\u0000name'))).toBe(true);
    expect(await quarantinedCount(registry, 'invalid_row')).toBe(Object.keys(kept).length);
    await redis.del(`${prefix}:usage:quarantined`, `${prefix}:usage:quarantine:${batch}`);
  });

  it('quarantines a batch that keeps failing while Postgres answers, never blocking the others', async () => {
    // A batch left in Redis that Postgres refuses as a whole (an hour before its timestamp
    // range), as a gateway of an older release could have left one.
    const poisoned = randomUUID();
    const field = JSON.stringify([tenantId, '-271821-04-20T00:00:00.000Z', 'key-1', 'm', 1]);
    await redis.hset(`${prefix}:usage:batch:${poisoned}`, `requests ${field}`, 1);
    await redis.sadd(`${prefix}:usage:batches`, poisoned);
    const registry = new Registry();
    const service = new UsageMeterService(
      redis,
      prisma,
      { REDIS_PREFIX: prefix, USAGE_FLUSH_MS: 60_000 } as GatewayConfig,
      createLogger({ name: 'usage-spec', level: 'silent' }),
      registry,
    );
    for (let attempt = 1; attempt <= MAX_BATCH_ATTEMPTS; attempt++) {
      const before = await totals();
      service.record(event(1));
      await service.flush();
      // Each flush still moves the new usage, with the poisoned batch before it.
      expect((await totals()).requests).toBe(before.requests + 1);
      const stillQueued = await redis.sismember(`${prefix}:usage:batches`, poisoned);
      expect(stillQueued).toBe(attempt < MAX_BATCH_ATTEMPTS ? 1 : 0);
    }
    expect(await redis.smembers(`${prefix}:usage:quarantined`)).toEqual([poisoned]);
    expect(await redis.hgetall(`${prefix}:usage:quarantine:${poisoned}`)).toEqual({
      [`requests ${field}`]: '1',
    });
    expect(await redis.exists(`${prefix}:usage:batch:${poisoned}`)).toBe(0);
    expect(await redis.hget(`${prefix}:usage:attempts`, poisoned)).toBeNull();
    expect(await quarantinedCount(registry, 'batch_failed')).toBe(1);
    await redis.del(`${prefix}:usage:quarantined`, `${prefix}:usage:quarantine:${poisoned}`);
  });

  it('counts no attempt against a batch while Postgres is down', async () => {
    const down = new PrismaService({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/none' });
    const service = new UsageMeterService(
      redis,
      down,
      { REDIS_PREFIX: prefix, USAGE_FLUSH_MS: 60_000 } as GatewayConfig,
      createLogger({ name: 'usage-spec', level: 'silent' }),
      new Registry(),
    );
    service.record(event(1));
    for (let i = 0; i <= MAX_BATCH_ATTEMPTS; i++) await service.flush();
    const [batch] = await redis.smembers(`${prefix}:usage:batches`);
    expect(batch).toBeDefined();
    expect(await redis.hget(`${prefix}:usage:attempts`, batch!)).toBeNull();
    expect(await redis.smembers(`${prefix}:usage:quarantined`)).toEqual([]);
    await down.$disconnect().catch(() => undefined);
    // Back up, the batch is applied as any other.
    const before = await totals();
    await meter().flush();
    expect((await totals()).requests).toBe(before.requests + 1);
  });

  it('writes again from memory the batches Redis lost before Postgres had them, counting each once', async () => {
    const service = meter();
    const before = await totals();
    service.record(event(2));
    service.record(event(3));
    // Written to Redis, then Redis loses its data before any flush reached Postgres.
    const [id] = await sealOnly(service);
    expect(id).toBeDefined();
    await redis.del(`${prefix}:usage:batch:${id}`, `${prefix}:usage:batches`);
    service.record(event(1));
    await service.flush(); // sees the batch gone and writes it again
    await service.flush(); // applies it
    expect(await totals()).toEqual({
      ...before,
      requests: before.requests + 3,
      rows: before.rows + 6,
    });
    // Applied once, then lost from Redis again: usage_flushes confirms it, nothing is added.
    await service.flush();
    expect(await totals()).toEqual({
      ...before,
      requests: before.requests + 3,
      rows: before.rows + 6,
    });
    expect(await redis.smembers(`${prefix}:usage:batches`)).toEqual([]);
  });

  it('has an answer counted in Redis before it is sent: a gateway killed then loses none', async () => {
    const before = await totals();
    // The Redis client the gateway uses, with its script calls counted.
    let scriptCalls = 0;
    const counting = new Proxy(redis, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name !== 'evalsha' && name !== 'eval') {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (...args: unknown[]) => {
          scriptCalls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    // An open batch outlives its gateway's last push by USAGE_OPEN_BATCH_GRACE_MS (1 s here).
    const killed = meter(100, counting);
    // 50 answers in one event-loop turn: one script call for all of them.
    await Promise.all(Array.from({ length: 50 }, () => killed.recordBeforeAnswer(event(1))));
    expect(scriptCalls).toBe(1);
    // Killed now: no flush, no timer. Another gateway's flush closes the open batch once its
    // deadline has passed, and applies it.
    const survivor = meter(100);
    await survivor.flush();
    expect((await totals()).requests).toBe(before.requests); // still open
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await survivor.flush();
    expect(await totals()).toEqual({
      ...before,
      requests: before.requests + 50,
      rows: before.rows + 50,
    });
    expect(await redis.zcard(`${prefix}:usage:open`)).toBe(0);
  });

  it('opens a new batch when its open one was closed without it, and counts both once', async () => {
    const before = await totals();
    const idle = meter(100);
    await idle.recordBeforeAnswer(event(2));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // Idle past its deadline: another flush closes and applies the batch.
    await meter(100).flush();
    expect((await totals()).requests).toBe(before.requests + 1);
    // Its next answer finds the batch closed and goes to a new one.
    await idle.recordBeforeAnswer(event(3));
    await idle.flush();
    await idle.flush();
    expect(await totals()).toEqual({
      ...before,
      requests: before.requests + 2,
      rows: before.rows + 5,
    });
  });

  it('writes again an open batch Redis lost, counting it once', async () => {
    const before = await totals();
    const service = meter();
    await service.recordBeforeAnswer(event(4));
    // Redis loses its data: the open batch and the list of open ones are gone.
    const [id] = await redis.zrange(`${prefix}:usage:open`, '0', '-1');
    await redis.del(`${prefix}:usage:batch:${id}`, `${prefix}:usage:open`);
    await service.recordBeforeAnswer(event(1));
    await service.flush(); // applies the new batch, sees the lost one gone and writes it again
    await service.flush(); // applies it
    await service.flush(); // nothing more
    expect(await totals()).toEqual({
      ...before,
      requests: before.requests + 2,
      rows: before.rows + 5,
    });
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
