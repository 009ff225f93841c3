import { randomUUID } from 'node:crypto';
import { testRedisUrl } from '@maas/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../config/gateway-config.js';
import { LoginAttemptsService, type LoginTicket } from './login-attempts.service.js';

// The login throttle's policy, run by its Lua scripts in the real Redis with a test clock.
describe('LoginAttemptsService', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });

  afterAll(async () => {
    await redis?.quit();
  });

  function setup(overrides: Partial<GatewayConfig> = {}) {
    const config = {
      REDIS_PREFIX: `test-login-${randomUUID().slice(0, 8)}`,
      LOGIN_ATTEMPTS_PER_IP: 50,
      LOGIN_FAILURES_BEFORE_DELAY: 5,
      LOGIN_DELAY_BASE_SECONDS: 1,
      LOGIN_MAX_DELAY_SECONDS: 60,
      LOGIN_ATTEMPTS_PER_ACCOUNT: 10,
      LOGIN_ACCOUNT_MAX_DELAY_SECONDS: 8,
      LOGIN_KNOWN_IP_DAYS: 30,
      ...overrides,
    } as GatewayConfig;
    const registry = new Registry();
    const attempts = new LoginAttemptsService(redis, config, registry);
    let now = 1_700_000_000_000;
    attempts.clock = () => now;
    /** The attempt's answer: the ticket, or 429 with its reason and Retry-After. */
    const attempt = async (account: string, ip: string) => {
      try {
        return { ok: true as const, ticket: await attempts.check(account, ip) };
      } catch (error) {
        const e = error as { code: string; message: string; retryAfterSeconds: number };
        expect(e.code).toBe('RESOURCE_EXHAUSTED');
        return { ok: false as const, retryAfter: e.retryAfterSeconds, message: e.message };
      }
    };
    const login = async (account: string, ip: string) => {
      const result = await attempt(account, ip);
      if (result.ok) await attempts.succeeded(result.ticket);
      return result;
    };
    const throttled = async (reason: string) =>
      (await registry.getSingleMetric('maas_login_throttled_total')!.get()).values
        .filter((v) => v.labels.reason === reason)
        .reduce((sum, v) => sum + v.value, 0);
    return { attempts, attempt, login, throttled, config, advance: (ms: number) => (now += ms) };
  }

  it('gives an (account, IP) pair free failures, then a delay doubling up to its cap', async () => {
    const { attempt, advance, throttled } = setup();
    for (let i = 0; i < 5; i++) expect((await attempt('a@x', '203.0.113.1')).ok).toBe(true);
    expect(await attempt('a@x', '203.0.113.1')).toMatchObject({ ok: false, retryAfter: 1 });
    advance(1000);
    expect((await attempt('a@x', '203.0.113.1')).ok).toBe(true); // 6th failure
    expect(await attempt('a@x', '203.0.113.1')).toMatchObject({ ok: false, retryAfter: 2 });
    advance(1999);
    expect(await attempt('a@x', '203.0.113.1')).toMatchObject({ ok: false, retryAfter: 1 });
    advance(1);
    expect((await attempt('a@x', '203.0.113.1')).ok).toBe(true); // 7th: next waits 4 s
    for (let i = 0; i < 20; i++) {
      const result = await attempt('a@x', '203.0.113.1');
      if (!result.ok) {
        expect(result.retryAfter).toBeLessThanOrEqual(60);
        advance(result.retryAfter * 1000);
      }
    }
    expect(await attempt('a@x', '203.0.113.1')).toMatchObject({ ok: false, retryAfter: 60 });
    expect(await throttled('pair')).toBeGreaterThanOrEqual(4);
  });

  it('clears a pair on success, and a refused attempt counts as nothing', async () => {
    const { attempt, login } = setup();
    for (let i = 0; i < 4; i++) await attempt('b@x', '203.0.113.2');
    expect((await login('b@x', '203.0.113.2')).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect((await attempt('b@x', '203.0.113.2')).ok).toBe(true);
    for (let i = 0; i < 10; i++) {
      expect(await attempt('b@x', '203.0.113.2')).toMatchObject({ ok: false, retryAfter: 1 });
    }
  });

  it('limits attempts per IP across accounts; successes give theirs back', async () => {
    const { attempt, login, throttled } = setup({ LOGIN_ATTEMPTS_PER_IP: 20 });
    for (let i = 0; i < 5; i++) expect((await login(`ok${i}@x`, '198.51.100.3')).ok).toBe(true);
    for (let i = 0; i < 20; i++) {
      expect((await attempt(`spray${i}@x`, '198.51.100.3')).ok).toBe(true);
    }
    const refused = await attempt('another@x', '198.51.100.3');
    expect(refused).toMatchObject({ ok: false });
    expect(refused.ok === false && refused.retryAfter).toBeGreaterThan(800); // the 15-min window
    expect(refused.ok === false && refused.message).toContain('from this address');
    expect((await attempt('another@x', '198.51.100.4')).ok).toBe(true);
    expect(await throttled('ip')).toBe(1);
  });

  it('throttles an account guessed at from many IPs, except from an IP that logged into it', async () => {
    const { attempt, login, advance, throttled } = setup();
    expect((await login('admin@x', '192.0.2.10')).ok).toBe(true); // the admin's usual IP
    for (let i = 0; i < 10; i++) {
      expect((await attempt('admin@x', `203.0.113.${100 + i}`)).ok).toBe(true);
    }
    const fresh = await attempt('admin@x', '203.0.113.200');
    expect(fresh).toMatchObject({ ok: false, retryAfter: 1 });
    expect(fresh.ok === false && fresh.message).toContain('new addresses');
    // The known IP logs in at once, however hard the others push.
    for (let round = 0; round < 30; round++) {
      const result = await attempt('admin@x', `203.0.113.${100 + (round % 20)}`);
      if (result.ok) continue;
      expect(result.retryAfter).toBeLessThanOrEqual(8); // the account-wide cap
      advance(result.retryAfter * 1000);
    }
    expect((await login('admin@x', '192.0.2.10')).ok).toBe(true);
    // A new IP with the right password waits at most the account-wide cap.
    const newcomer = await attempt('admin@x', '198.51.100.77');
    expect(newcomer).toMatchObject({ ok: false });
    expect(newcomer.ok === false && newcomer.retryAfter).toBeLessThanOrEqual(8);
    advance((newcomer.ok === false ? newcomer.retryAfter : 0) * 1000);
    expect((await login('admin@x', '198.51.100.77')).ok).toBe(true);
    // ...and is known from then on.
    expect((await attempt('admin@x', '198.51.100.77')).ok).toBe(true);
    expect(await throttled('account')).toBeGreaterThanOrEqual(2);
  });

  it('counts an IPv6 client by its /64, and keeps every key bounded by a TTL', async () => {
    const { attempt, login, config } = setup();
    for (let i = 0; i < 5; i++) {
      expect((await attempt('c@x', `2001:db8:1:2::${i + 1}`)).ok).toBe(true);
    }
    expect(await attempt('c@x', '2001:db8:1:2:ffff::9')).toMatchObject({ ok: false });
    expect((await attempt('c@x', '2001:db8:1:3::1')).ok).toBe(true);
    expect((await login('d@x', '2001:db8:9::1')).ok).toBe(true);
    const keys = await redis.keys(`${config.REDIS_PREFIX}:login:*`);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (const key of keys) expect(await redis.ttl(key), key).toBeGreaterThan(0);
  });

  it('answers 503, never unlimited, when Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const attempts = new LoginAttemptsService(
      down,
      {
        REDIS_PREFIX: 'x',
        LOGIN_MAX_DELAY_SECONDS: 1,
        LOGIN_ACCOUNT_MAX_DELAY_SECONDS: 1,
      } as GatewayConfig,
      new Registry(),
    );
    await expect(attempts.check('e@x', '192.0.2.1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(
      attempts.succeeded({ account: 'e@x', clientIp: '192.0.2.1', known: false } as LoginTicket),
    ).resolves.toBeUndefined();
    down.disconnect();
  });
});
