import { randomUUID } from 'node:crypto';
import { createRedis } from '@maas/app-runtime';
import { freePort, testRedisUrl } from '@maas/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import { RateLimiterService } from './rate-limiter.service.js';

describe('RateLimiterService', () => {
  let redis: Redis;
  const prefix = `limits-spec-${randomUUID().slice(0, 8)}`;
  const config = { REDIS_PREFIX: prefix, LIMITS_REDIS_TIMEOUT_MS: 500 } as GatewayConfig;

  beforeAll(() => {
    redis = createRedis(testRedisUrl(), 'limits-spec');
  });

  afterAll(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('admits exactly the monthly quota out of many concurrent takes, across clients', async () => {
    // Two clients stand for two gateways.
    const other = createRedis(testRedisUrl(), 'limits-spec-2');
    const limiters = [new RateLimiterService(redis, config), new RateLimiterService(other, config)];
    const spec = {
      key: limiters[0].key('tenant', 't1'),
      requestsPerSecond: 10_000,
      burst: 10_000,
      monthly: { key: limiters[0].monthlyRequestsKey('t1'), limit: 37, seed: async () => 0 },
    };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => limiters[i % 2].take(spec)),
    );
    await other.quit();
    expect(results.filter((r) => r.outcome === 'admitted')).toHaveLength(37);
    expect(results.filter((r) => r.outcome === 'monthly-quota-exceeded')).toHaveLength(163);
    expect(await limiters[0].monthlyUsed('t1')).toBe(37);
  });

  it('takes concurrent requests in one Redis call, answering each as if taken one by one', async () => {
    const limiter = new RateLimiterService(redis, config);
    await limiter.take({ key: limiter.key('tenant', 'warm'), requestsPerSecond: 1, burst: 1 });
    const spec = {
      key: limiter.key('tenant', 't5'),
      requestsPerSecond: 1,
      burst: 4,
      monthly: { key: limiter.monthlyRequestsKey('t5'), limit: 100, seed: async () => 0 },
    };
    await redis.set(spec.monthly.key, '0');
    const evalsha = vi.spyOn(redis, 'evalsha');
    const results = await Promise.all(Array.from({ length: 10 }, () => limiter.take(spec)));
    expect(evalsha).toHaveBeenCalledTimes(1);
    evalsha.mockRestore();
    expect(results.map((r) => r.outcome)).toEqual([
      ...Array(4).fill('admitted'),
      ...Array(6).fill('rate-limited'),
    ]);
    expect(results.slice(0, 4).map((r) => r.remaining)).toEqual([3, 2, 1, 0]);
    expect(results[3]!.waitMs).toBeGreaterThan(3000); // ~4 s until full again at 1/s
    expect(results[4]!.waitMs).toBeGreaterThan(0);
    expect(results[4]!.waitMs).toBeLessThanOrEqual(1000);
    // Only the admitted ones count against the month.
    expect(await limiter.monthlyUsed('t5')).toBe(4);

    // A monthly quota that runs out inside a batch: the rest are told so, not rate-limited.
    const tight = {
      ...spec,
      key: limiter.key('tenant', 't6'),
      burst: 100,
      monthly: { ...spec.monthly, key: limiter.monthlyRequestsKey('t6'), limit: 3 },
    };
    const capped = await Promise.all(Array.from({ length: 5 }, () => limiter.take(tight)));
    expect(capped.map((r) => r.outcome)).toEqual([
      ...Array(3).fill('admitted'),
      ...Array(2).fill('monthly-quota-exceeded'),
    ]);
    expect(await limiter.monthlyUsed('t6')).toBe(3);
  });

  it('starts a missing monthly counter from what Postgres metered', async () => {
    const limiter = new RateLimiterService(redis, config);
    const spec = {
      key: limiter.key('tenant', 't4'),
      requestsPerSecond: 100,
      burst: 100,
      monthly: { key: limiter.monthlyRequestsKey('t4'), limit: 10, seed: async () => 8 },
    };
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await limiter.take(spec)).outcome);
    expect(outcomes).toEqual(['admitted', 'admitted', 'monthly-quota-exceeded']);
  });

  it('refills the bucket at its rate and says how long to wait', async () => {
    const limiter = new RateLimiterService(redis, config);
    const spec = { key: limiter.key('tenant', 't2'), requestsPerSecond: 2, burst: 3 };
    const first = await Promise.all(Array.from({ length: 5 }, () => limiter.take(spec)));
    expect(first.map((r) => r.outcome)).toEqual([
      'admitted',
      'admitted',
      'admitted',
      'rate-limited',
      'rate-limited',
    ]);
    expect(first[3].waitMs).toBeGreaterThan(0);
    expect(first[3].waitMs).toBeLessThanOrEqual(500);
    await new Promise((r) => setTimeout(r, first[3].waitMs + 20));
    expect((await limiter.take(spec)).outcome).toBe('admitted');
  });

  it('answers 503 (never unlimited) when Redis is unreachable', async () => {
    const dead = createRedis(`redis://127.0.0.1:${await freePort()}`, 'limits-spec-dead');
    dead.on('error', () => undefined);
    const limiter = new RateLimiterService(dead, config);
    const started = Date.now();
    await expect(
      limiter.take({ key: limiter.key('tenant', 't3'), requestsPerSecond: 1, burst: 1 }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
    dead.disconnect();
  });
});
