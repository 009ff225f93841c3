import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DomainError, REDIS, RedisScript, setIoDeadline } from '@maas/app-runtime';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/**
 * The start of both bucket scripts: `rate` and `burst` (ARGV[1], ARGV[2]), `now` in ms on
 * Redis's clock, and the bucket KEYS[1]'s `tokens` refilled to now (full, and `known` false,
 * when Redis has no bucket: a new one, or one expired because it was full).
 */
const BUCKET_NOW = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local known = tonumber(state[1]) ~= nil
local tokens = burst
if known then
  tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate / 1000)
end`;

/**
 * Token bucket (refill `rate` per second up to `burst`) plus an optional monthly counter, checked
 * and taken in one Lua call so that concurrent gateways cannot admit one request too many.
 * Takes up to `n` tokens at once (the requests one gateway received in the same event-loop turn),
 * granting as many as the bucket and the monthly quota allow: exactly what n takes in a row
 * would grant. Then leases up to `extra` more for this gateway to grant locally (at most half of
 * what the bucket has left, and a tenth of what the month has left), so that a steady tenant
 * costs one Redis call per lease, not one per request. Time comes from Redis (TIME), so
 * gateways with skewed clocks share one timeline.
 * Returns {admitted (1) | bucket empty (0) | monthly quota spent (2) | monthly counter missing (3),
 * granted, tokens left × 1000, monthly requests left (-1: no monthly quota), leased}.
 */
const TAKE_SCRIPT = new RedisScript(`${BUCKET_NOW}
local monthlyLimit = tonumber(ARGV[3])
local monthTtl = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local extra = tonumber(ARGV[6])
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
local leased = 0
if granted == n and extra > 0 then
  leased = math.min(extra, math.floor(tokens / 2))
  if monthlyLeft >= 0 then leased = math.min(leased, math.floor((monthlyLeft - granted) / 10)) end
  tokens = tokens - leased
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
if granted + leased > 0 and monthlyLeft >= 0 then
  redis.call('INCRBY', KEYS[2], granted + leased)
  redis.call('EXPIRE', KEYS[2], monthTtl)
  monthlyLeft = monthlyLeft - granted - leased
end
return {granted > 0 and 1 or 0, granted, math.floor(tokens * 1000), monthlyLeft, leased}
`);

/**
 * Gives back the `ARGV[3]` tokens of a lease this gateway did not use: to the bucket (refilled
 * to now first, so the bucket ends as if they had never been taken, capped at `burst`) and to
 * the monthly counter.
 */
const RETURN_SCRIPT = new RedisScript(`${BUCKET_NOW}
local unused = tonumber(ARGV[3])
if known then
  redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(burst, tokens + unused)), 'ts', now)
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], unused) end
return 1
`);

/** How long a lease of tokens lives; what is left of it then goes back to Redis. */
export const LEASE_MS = 200;
/** The largest lease, as a share of the bucket's burst (a bucket of < 10 tokens leases none). */
const LEASE_SHARE_OF_BURST = 0.1;

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

/** The calendar month (UTC) last asked for, and the span of time it covers. */
let lastMonth: { name: string; from: number; until: number } | undefined;

/**
 * The calendar month (UTC) of `now`, as `YYYY-MM`. Every inference request asks (the monthly
 * quota's key): answered from the month last computed while `now` falls within it.
 */
export function currentMonth(now?: Date): string {
  const t = now?.getTime() ?? Date.now();
  if (lastMonth && t >= lastMonth.from && t < lastMonth.until) return lastMonth.name;
  const at = now ?? new Date(t);
  const from = startOfMonth(at).getTime();
  const until = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
  lastMonth = { name: at.toISOString().slice(0, 7), from, until };
  return lastMonth.name;
}

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

/**
 * Tokens this gateway took from Redis ahead of its requests, granted locally until they run out
 * or the lease ends (then the rest goes back). `served` counts the takes of the lease's window,
 * locally and through Redis: the demand the next lease is sized by.
 */
interface Lease {
  spec: BucketSpec;
  tokens: number;
  expiresAt: number;
  served: number;
  /** tokens Redis had left when the lease was taken (for RateLimit-Remaining) */
  bucketLeft: number;
  timer?: NodeJS.Timeout;
}

@Injectable()
export class RateLimiterService implements OnModuleDestroy {
  private readonly batches = new Map<string, TakeBatch>();
  private readonly leases = new Map<string, Lease>();
  private sweptAt = 0;

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
   * Atomically takes one token; Redis not answering is 503, never unlimited access. A token of
   * this gateway's lease is granted without Redis; otherwise takes from the same buckets within
   * one event-loop turn share one Redis call, which may take a lease for the next ones.
   */
  take(spec: BucketSpec): Promise<TakeResult> {
    const group = `${spec.key}\n${spec.monthly?.key ?? ''}`;
    const lease = this.leases.get(group);
    if (lease) {
      if (lease.expiresAt <= performance.now()) {
        void this.endLease(group, lease);
      } else {
        lease.served += 1;
        // (limits changed since it was taken: through Redis, where the new ones apply)
        const sameLimits =
          lease.spec.burst === spec.burst &&
          lease.spec.requestsPerSecond === spec.requestsPerSecond;
        if (lease.tokens >= 1 && sameLimits) {
          lease.tokens -= 1;
          const remaining = Math.floor(lease.bucketLeft + lease.tokens);
          return Promise.resolve({
            outcome: 'admitted',
            limit: spec.burst,
            remaining,
            waitMs: Math.ceil(((spec.burst - remaining) * 1000) / spec.requestsPerSecond),
          });
        }
      }
    }
    let batch = this.batches.get(group);
    if (!batch) {
      batch = { spec, waiters: [] };
      this.batches.set(group, batch);
      if (this.batches.size === 1) setImmediate(() => this.flush());
    }
    const waiters = batch.waiters;
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  /** Gives every lease's unused tokens back (a gateway stopping keeps none). */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.leases].map(([group, lease]) => this.endLease(group, lease)));
  }

  private flush(): void {
    const batches = [...this.batches.entries()];
    this.batches.clear();
    this.forgetIdleWindows();
    for (const [group, { spec, waiters }] of batches) {
      this.takeMany(group, spec, waiters.length).then(
        (results) => waiters.forEach((waiter, i) => waiter.resolve(results[i]!)),
        (error: unknown) => waiters.forEach((waiter) => waiter.reject(error)),
      );
    }
  }

  /** Drops, at most once a second, the windows of buckets nobody has taken from lately. */
  private forgetIdleWindows(): void {
    const now = performance.now();
    if (now - this.sweptAt < 1000) return;
    this.sweptAt = now;
    for (const [group, lease] of this.leases) {
      if (lease.tokens < 1 && lease.expiresAt + LEASE_MS < now) this.leases.delete(group);
    }
  }

  /**
   * Tokens to lease beyond the takes at hand: the demand of the last lease window (the takes it
   * counted, these included when it ran dry before its end, so a lease doubles while it runs
   * out early), capped at a tenth of the burst. A group with no recent window leases none:
   * sparse traffic pays one Redis call per request, exactly as without leases.
   */
  private leaseSize(group: string, spec: BucketSpec): number {
    const cap = Math.floor(spec.burst * LEASE_SHARE_OF_BURST);
    const last = this.leases.get(group);
    if (cap < 1 || !last) return 0;
    // A window that ended within the last LEASE_MS still says something of the next.
    return last.expiresAt + LEASE_MS > performance.now() ? Math.min(cap, last.served) : 0;
  }

  private async takeMany(group: string, spec: BucketSpec, n: number): Promise<TakeResult[]> {
    const extra = this.leaseSize(group, spec);
    let result = await this.takeOnce(group, spec, n, extra);
    if (result === 'unseeded' && spec.monthly) {
      const seed = await spec.monthly.seed();
      await this.withTimeout(
        this.redis.set(spec.monthly.key, String(seed), 'EX', MONTH_TTL_SECONDS, 'NX'),
      ).catch(() => {
        throw new DomainError('UNAVAILABLE', 'rate limiting is unavailable; try again shortly');
      });
      result = await this.takeOnce(group, spec, n, extra);
    }
    if (result === 'unseeded') {
      throw new DomainError('UNAVAILABLE', 'rate limiting is unavailable; try again shortly');
    }
    return result;
  }

  /** Starts a window for `group` holding `leased` tokens (none: a window that only counts). */
  private startLease(group: string, spec: BucketSpec, n: number, leased: number, left: number) {
    const previous = this.leases.get(group);
    if (previous) void this.endLease(group, previous);
    const lease: Lease = {
      spec,
      tokens: leased,
      expiresAt: performance.now() + LEASE_MS,
      served: n,
      bucketLeft: left,
    };
    if (leased > 0) {
      lease.timer = setTimeout(() => void this.endLease(group, lease), LEASE_MS);
      lease.timer.unref();
    }
    this.leases.set(group, lease);
  }

  /**
   * Gives back what is left of `lease` (best effort: tokens Redis does not take back are only a
   * lease's worth, gone when the bucket refills). The lease stays in the map, empty, for the
   * next lease's size, until it is replaced.
   */
  private async endLease(group: string, lease: Lease): Promise<void> {
    if (lease.timer) clearTimeout(lease.timer);
    const unused = Math.floor(lease.tokens);
    lease.tokens = 0;
    if (this.leases.get(group) === lease && lease.expiresAt > performance.now()) {
      lease.expiresAt = performance.now();
    }
    if (unused < 1) return;
    const { spec } = lease;
    await this.withTimeout(
      RETURN_SCRIPT.run(
        this.redis,
        [spec.key, spec.monthly?.key ?? `${spec.key}:none`],
        [spec.requestsPerSecond, spec.burst, unused],
      ),
    ).catch(() => undefined);
  }

  /** One Lua call for n takes (and a lease of `extra`), answered per take in arrival order. */
  private async takeOnce(
    group: string,
    spec: BucketSpec,
    n: number,
    extra: number,
  ): Promise<TakeResult[] | 'unseeded'> {
    const monthly = spec.monthly;
    const keys = [spec.key, monthly?.key ?? `${spec.key}:none`];
    const args = [
      spec.requestsPerSecond,
      spec.burst,
      monthly ? monthly.limit : -1,
      MONTH_TTL_SECONDS,
      n,
      extra,
    ];
    let reply: [number, number, number, number, number];
    try {
      reply = (await this.withTimeout(TAKE_SCRIPT.run(this.redis, keys, args))) as [
        number,
        number,
        number,
        number,
        number,
      ];
    } catch {
      throw new DomainError('UNAVAILABLE', 'rate limiting is unavailable; try again shortly');
    }
    const [code, granted, tokensTimes1000, monthlyLeft, leased] = reply;
    if (code === 3) return 'unseeded';
    const rate = spec.requestsPerSecond;
    // What this gateway leased is left to its next requests: counted as remaining.
    const tokensLeft = tokensTimes1000 / 1000 + leased;
    this.startLease(group, spec, n, leased, tokensTimes1000 / 1000);
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
        waitMs: Math.ceil(((1 - tokensTimes1000 / 1000) * 1000) / rate),
      };
    });
  }

  async monthlyUsed(tenantId: string): Promise<number> {
    const value = await this.withTimeout(this.redis.get(this.monthlyRequestsKey(tenantId)));
    return Number(value ?? 0);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // (Past the deadline, an answer already waiting still counts: see setIoDeadline.)
      const timer = setIoDeadline(
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
