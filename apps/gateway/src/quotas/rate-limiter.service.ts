import { Inject, Injectable } from '@nestjs/common';
import { DomainError, REDIS, RedisScript } from '@maas/app-runtime';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/**
 * Token bucket (refill `rate` per second up to `burst`) plus an optional monthly counter, checked
 * and taken in one Lua call so that concurrent gateways cannot admit one request too many.
 * Takes up to `n` tokens at once (the requests one gateway received in the same event-loop turn),
 * granting as many as the bucket and the monthly quota allow: exactly what n takes in a row
 * would grant. Time comes from Redis (TIME), so gateways with skewed clocks share one timeline.
 * Returns {admitted (1) | bucket empty (0) | monthly quota spent (2) | monthly counter missing (3),
 * granted, tokens left × 1000, monthly requests left (-1: no monthly quota)}.
 */
const TAKE_SCRIPT = new RedisScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local monthlyLimit = tonumber(ARGV[3])
local monthTtl = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local monthlyLeft = -1
if monthlyLimit >= 0 then
  local stored = redis.call('GET', KEYS[2])
  if not stored then return {3, 0, 0, 0} end
  monthlyLeft = monthlyLimit - tonumber(stored)
  if monthlyLeft <= 0 then return {2, 0, 0, 0} end
end
local granted = math.min(n, math.floor(tokens))
if monthlyLeft >= 0 then granted = math.min(granted, monthlyLeft) end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
if granted > 0 and monthlyLeft >= 0 then
  redis.call('INCRBY', KEYS[2], granted)
  redis.call('EXPIRE', KEYS[2], monthTtl)
  monthlyLeft = monthlyLeft - granted
end
return {granted > 0 and 1 or 0, granted, math.floor(tokens * 1000), monthlyLeft}
`);

export interface BucketSpec {
  key: string;
  requestsPerSecond: number;
  burst: number;
  /**
   * counts admitted requests per calendar month (UTC) when set; a counter Redis does not have
   * (new month, or Redis lost it) starts from `seed()` (what Postgres has metered)
   */
  monthly?: { key: string; limit: number; seed: () => Promise<number> };
}

export interface TakeResult {
  outcome: 'admitted' | 'rate-limited' | 'monthly-quota-exceeded';
  limit: number;
  remaining: number;
  /** admitted: ms until the bucket is full again; rate-limited: ms until a token is there */
  waitMs: number;
}

// A monthly counter is kept ~2 months, so it outlives the month it counts.
const MONTH_TTL_SECONDS = 62 * 24 * 3600;

export const currentMonth = (now = new Date()) => now.toISOString().slice(0, 7);

/** Midnight UTC on the first of this month: where monthly quotas start counting. */
export const startOfMonth = (now = new Date()) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/** Seconds until monthly quotas start again (Retry-After of a spent monthly quota), ≥ 1. */
export function secondsUntilNextMonth(now = new Date()): number {
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return Math.max(1, Math.ceil((next.getTime() - now.getTime()) / 1000));
}

interface TakeBatch {
  spec: BucketSpec;
  waiters: { resolve: (result: TakeResult) => void; reject: (error: unknown) => void }[];
}

@Injectable()
export class RateLimiterService {
  private readonly batches = new Map<string, TakeBatch>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  key(...parts: string[]): string {
    return [this.config.REDIS_PREFIX, 'limits', ...parts].join(':');
  }

  monthlyRequestsKey(tenantId: string, month = currentMonth()): string {
    return this.key('monthly-requests', tenantId, month);
  }

  /**
   * Atomically takes one token; Redis not answering is 503, never unlimited access. Takes from
   * the same buckets within one event-loop turn share one Redis call.
   */
  take(spec: BucketSpec): Promise<TakeResult> {
    const group = `${spec.key}\n${spec.monthly?.key ?? ''}`;
    let batch = this.batches.get(group);
    if (!batch) {
      batch = { spec, waiters: [] };
      this.batches.set(group, batch);
      if (this.batches.size === 1) setImmediate(() => this.flush());
    }
    const waiters = batch.waiters;
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  private flush(): void {
    const batches = [...this.batches.values()];
    this.batches.clear();
    for (const { spec, waiters } of batches) {
      this.takeMany(spec, waiters.length).then(
        (results) => waiters.forEach((waiter, i) => waiter.resolve(results[i]!)),
        (error: unknown) => waiters.forEach((waiter) => waiter.reject(error)),
      );
    }
  }

  private async takeMany(spec: BucketSpec, n: number): Promise<TakeResult[]> {
    let result = await this.takeOnce(spec, n);
    if (result === 'unseeded' && spec.monthly) {
      const seed = await spec.monthly.seed();
      await this.withTimeout(
        this.redis.set(spec.monthly.key, String(seed), 'EX', MONTH_TTL_SECONDS, 'NX'),
      ).catch(() => {
        throw new DomainError('UNAVAILABLE', 'rate limiting is unavailable; try again shortly');
      });
      result = await this.takeOnce(spec, n);
    }
    if (result === 'unseeded') {
      throw new DomainError('UNAVAILABLE', 'rate limiting is unavailable; try again shortly');
    }
    return result;
  }

  /** One Lua call for n takes, answered per take in arrival order. */
  private async takeOnce(spec: BucketSpec, n: number): Promise<TakeResult[] | 'unseeded'> {
    const monthly = spec.monthly;
    const keys = [spec.key, monthly?.key ?? `${spec.key}:none`];
    const args = [
      spec.requestsPerSecond,
      spec.burst,
      monthly ? monthly.limit : -1,
      MONTH_TTL_SECONDS,
      n,
    ];
    let reply: [number, number, number, number];
    try {
      reply = (await this.withTimeout(TAKE_SCRIPT.run(this.redis, keys, args))) as [
        number,
        number,
        number,
        number,
      ];
    } catch {
      throw new DomainError('UNAVAILABLE', 'rate limiting is unavailable; try again shortly');
    }
    const [code, granted, tokensTimes1000, monthlyLeft] = reply;
    if (code === 3) return 'unseeded';
    const rate = spec.requestsPerSecond;
    const tokensLeft = tokensTimes1000 / 1000;
    const monthlySpent = code === 2 || monthlyLeft === 0;
    return Array.from({ length: n }, (_, i): TakeResult => {
      if (i < granted) {
        // As if taken one by one: the i-th take left the tokens the later ones then took.
        const after = tokensLeft + (granted - 1 - i);
        return {
          outcome: 'admitted',
          limit: spec.burst,
          remaining: Math.floor(after),
          waitMs: Math.ceil(((spec.burst - after) * 1000) / rate),
        };
      }
      if (monthlySpent) {
        return { outcome: 'monthly-quota-exceeded', limit: spec.burst, remaining: 0, waitMs: 0 };
      }
      return {
        outcome: 'rate-limited',
        limit: spec.burst,
        remaining: 0,
        waitMs: Math.ceil(((1 - tokensLeft) * 1000) / rate),
      };
    });
  }

  async monthlyUsed(tenantId: string): Promise<number> {
    const value = await this.withTimeout(this.redis.get(this.monthlyRequestsKey(tenantId)));
    return Number(value ?? 0);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('redis timeout')),
        this.config.LIMITS_REDIS_TIMEOUT_MS,
      );
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }
}
