import { randomUUID } from 'node:crypto';
import { createRedis } from '@maas/app-runtime';
import { freePort, testRedisUrl } from '@maas/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import { LEASE_MS, RateLimiterService } from './rate-limiter.service.js';

describe('RateLimiterService', () => {
  let redis: Redis;
  const prefix = `limits-spec-${randomUUID().slice(0, 8)}`;
  const config = { REDIS_PREFIX: prefix, LIMITS_REDIS_TIMEOUT_MS: 500 } as GatewayConfig;

  /** A tenant's bucket with a monthly quota (its counter seeded with 0 when Redis has none). */
  const bucketOf = (
    limiter: RateLimiterService,
    tenant: string,
    requestsPerSecond: number,
    burst: number,
    monthlyLimit: number,
  ) => ({
    key: limiter.key('tenant', tenant),
    requestsPerSecond,
    burst,
    monthly: { key: limiter.monthlyRequestsKey(tenant), limit: monthlyLimit, seed: async () => 0 },
  });

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
    const spec = bucketOf(limiters[0], 't1', 10_000, 10_000, 37);
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
    const spec = bucketOf(limiter, 't5', 1, 4, 100);
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

  it('grants a steady tenant from a lease: far fewer Redis calls than requests, none too many', async () => {
    const limiter = new RateLimiterService(redis, config);
    const spec = bucketOf(limiter, 'steady', 0.001, 1_000, 10_000);
    await redis.set(spec.monthly.key, '0');
    const evalsha = vi.spyOn(redis, 'evalsha');
    const results = [];
    // One request at a time, as a client with one connection sends them.
    for (let i = 0; i < 300; i++) results.push(await limiter.take(spec));
    const calls = evalsha.mock.calls.length;
    evalsha.mockRestore();
    expect(results.every((r) => r.outcome === 'admitted')).toBe(true);
    // Leases double while they run dry (1, 2, 4 … up to a tenth of the burst): ~10 calls.
    expect(calls).toBeLessThan(30);
    // RateLimit-Remaining counts down one by one, lease or not.
    expect(results.map((r) => r.remaining)).toEqual(Array.from({ length: 300 }, (_, i) => 999 - i));
    // What was leased and not used goes back, to the bucket and to the month.
    await limiter.onModuleDestroy();
    expect(await limiter.monthlyUsed('steady')).toBe(300);
    const state = await redis.hget(spec.key, 'tokens');
    expect(Math.floor(Number(state))).toBe(700);
  });

  it('never admits more than the bucket across gateways, and a lease left unused comes back', async () => {
    const other = createRedis(testRedisUrl(), 'limits-spec-3');
    const [first, second] = [
      new RateLimiterService(redis, config),
      new RateLimiterService(other, config),
    ];
    const spec = { key: first.key('tenant', 'shared'), requestsPerSecond: 0.001, burst: 100 };
    let admitted = 0;
    // The first gateway's traffic leases tokens it then stops using.
    for (let i = 0; i < 30; i++) {
      if ((await first.take(spec)).outcome === 'admitted') admitted += 1;
    }
    let refusedAt = -1;
    for (let i = 0; i < 100 && refusedAt < 0; i++) {
      if ((await second.take(spec)).outcome === 'admitted') admitted += 1;
      else refusedAt = i;
    }
    // Refused while the first gateway's lease still holds tokens: none is granted twice.
    expect(refusedAt).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(100);
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 100));
    // The lease has ended: its tokens are back, and the second gateway gets exactly them.
    for (let i = 0; i < 100; i++) {
      if ((await second.take(spec)).outcome === 'admitted') admitted += 1;
    }
    expect(admitted).toBe(100);
    await other.quit();
  });

  it('never admits more than the monthly quota across gateways with leases, and ends at it exactly', async () => {
    const other = createRedis(testRedisUrl(), 'limits-spec-4');
    const limiters = [new RateLimiterService(redis, config), new RateLimiterService(other, config)];
    const spec = bucketOf(limiters[0], 'month-lease', 100_000, 100_000, 500);
    await redis.set(spec.monthly.key, '0');
    let admitted = 0;
    const takeAll = async (count: number) => {
      for (let i = 0; i < count; i++) {
        if ((await limiters[i % 2]!.take(spec)).outcome === 'admitted') admitted += 1;
      }
    };
    await takeAll(700);
    expect(admitted).toBeLessThanOrEqual(500);
    // Once the leases have ended their unused requests are back in the month, and taken.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 100));
    await takeAll(100);
    await Promise.all(limiters.map((limiter) => limiter.onModuleDestroy()));
    expect(admitted).toBe(500);
    expect(await limiters[0]!.monthlyUsed('month-lease')).toBe(500);
    await other.quit();
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

  it('admits a request whose answer came in time although the process stalled past the deadline', async () => {
    // A gateway starved of CPU wakes with its 20 ms deadline expired and Redis's answer waiting:
    // that answer counts (setIoDeadline); a plain timer answered 503 to every request in the call.
    const limiter = new RateLimiterService(redis, { ...config, LIMITS_REDIS_TIMEOUT_MS: 20 });
    const taken = limiter.take({
      key: limiter.key('tenant', 'stalled'),
      requestsPerSecond: 1,
      burst: 5,
    });
    const until = Date.now() + 150;
    while (Date.now() < until); // the stall
    expect((await taken).outcome).toBe('admitted');
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
