import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { clientIdentityOf, DomainError, METRICS_REGISTRY, REDIS } from '@maas/app-runtime';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/** The per-IP login counter's window. */
const IP_WINDOW_SECONDS = 15 * 60;

/**
 * Checks one login attempt and, when it may go ahead, counts it as a failure up front (so
 * parallel guesses cannot all slip in before any failure is recorded; a success gives it back).
 * KEYS: pair (account, IP) failures, account failures from unknown IPs, IP attempts, known IP.
 * ARGV: now ms (-1: Redis TIME), per-IP limit, IP window s, pair free failures, pair cap ms,
 * account free failures, account cap ms, base delay ms, failure-state TTL s.
 * A failure state {f: failures, at: last failure ms} holds the next attempt back until
 * at + min(cap, base · 2^(f − free)) once f ≥ free.
 * Returns {0 admitted | 1 IP limit | 2 pair delay | 3 account delay, wait ms, known 0/1}.
 */
const CHECK_SCRIPT = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local base = tonumber(ARGV[8])
local function wait(key, free, cap)
  local s = redis.call('HMGET', key, 'f', 'at')
  local f = tonumber(s[1]) or 0
  if f < free then return 0 end
  return (tonumber(s[2]) or 0) + math.min(cap, base * 2 ^ (f - free)) - now
end
local function fail(key, ttl)
  redis.call('HINCRBY', key, 'f', 1)
  redis.call('HSET', key, 'at', now)
  redis.call('EXPIRE', key, ttl)
end
local known = redis.call('EXISTS', KEYS[4])
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[2]) then
  return {1, math.max(redis.call('PTTL', KEYS[3]), 1), known}
end
local w = wait(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]))
if w > 0 then return {2, math.ceil(w), known} end
if known == 0 then
  w = wait(KEYS[2], tonumber(ARGV[6]), tonumber(ARGV[7]))
  if w > 0 then return {3, math.ceil(w), known} end
end
if redis.call('INCR', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], ARGV[3]) end
fail(KEYS[1], ARGV[9])
if known == 0 then fail(KEYS[2], ARGV[9]) end
return {0, 0, known}
`;

/**
 * A login succeeded: the pair's failures go, the reserved attempt is given back to the IP (and
 * to the account when the IP was unknown), and the IP becomes known to the account.
 * KEYS: pair, account, IP, known. ARGV: was known 0/1, known TTL s.
 */
const SUCCESS_SCRIPT = `
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
if ARGV[1] == '0' and tonumber(redis.call('HGET', KEYS[2], 'f') or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], 'f', -1)
end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[2])
return 1
`;

const REASONS = ['admitted', 'ip', 'pair', 'account'] as const;
const MESSAGES = {
  ip: 'too many login attempts from this address; try again later',
  pair: 'too many failed logins for this account from this address; try again later',
  account: 'too many failed logins for this account from new addresses; try again later',
};

export class TooManyLoginsError extends DomainError {
  readonly problemType = 'login-attempts-exceeded';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('RESOURCE_EXHAUSTED', message);
  }
}

/** A login attempt that may go ahead; report its outcome with `succeeded`. */
export interface LoginTicket {
  account: string;
  clientIp: string;
  /** The IP has logged into this account before (the account-wide delay does not apply). */
  known: boolean;
}

/**
 * Login protection that an attacker cannot turn against the account's owner, kept in Redis so
 * every gateway shares it (each key expires on its own):
 *   - per (account, client IP): LOGIN_FAILURES_BEFORE_DELAY free failures, then the next
 *     attempt waits LOGIN_DELAY_BASE_SECONDS, doubling per failure up to LOGIN_MAX_DELAY_SECONDS;
 *   - per client IP, across accounts: LOGIN_ATTEMPTS_PER_IP attempts per 15 minutes;
 *   - per account, against guessing spread over many IPs: past LOGIN_ATTEMPTS_PER_ACCOUNT
 *     failures from IPs that never logged into it, attempts from such IPs wait the same
 *     doubling delay, capped at LOGIN_ACCOUNT_MAX_DELAY_SECONDS. An IP that logged in within
 *     LOGIN_KNOWN_IP_DAYS is exempt, so hammering from elsewhere never locks the owner out.
 * A success clears its pair. Attempts refused with 429 count as nothing. Client IPs are
 * grouped as the other per-IP limits group them (an IPv6 client by its /64).
 */
@Injectable()
export class LoginAttemptsService {
  private readonly throttled: Counter<'reason'>;
  /** Fixed time in ms for tests; unset, Redis's clock is used (one clock for all gateways). */
  clock?: () => number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.throttled = new Counter({
      name: 'maas_login_throttled_total',
      help: 'Login attempts refused (429), by which limit: ip, pair (account and IP), account',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  private keys(account: string, clientIp: string): [string, string, string, string] {
    const id = createHash('sha256').update(account).digest('hex').slice(0, 32);
    const client = clientIdentityOf(clientIp);
    const base = `${this.config.REDIS_PREFIX}:login`;
    return [
      `${base}:pair:${id}:${client}`,
      `${base}:account:${id}`,
      `${base}:ip:${client}`,
      `${base}:known:${id}:${client}`,
    ];
  }

  /** Admits the attempt (counted as a failure until `succeeded`) or throws the 429 / 503. */
  async check(account: string, clientIp: string): Promise<LoginTicket> {
    const c = this.config;
    const stateTtl = Math.max(
      3600,
      2 * c.LOGIN_MAX_DELAY_SECONDS,
      2 * c.LOGIN_ACCOUNT_MAX_DELAY_SECONDS,
    );
    let reply: [number, number, number];
    try {
      reply = (await this.redis.eval(
        CHECK_SCRIPT,
        4,
        ...this.keys(account, clientIp),
        String(this.clock?.() ?? -1),
        String(c.LOGIN_ATTEMPTS_PER_IP),
        String(IP_WINDOW_SECONDS),
        String(c.LOGIN_FAILURES_BEFORE_DELAY),
        String(c.LOGIN_MAX_DELAY_SECONDS * 1000),
        String(c.LOGIN_ATTEMPTS_PER_ACCOUNT),
        String(c.LOGIN_ACCOUNT_MAX_DELAY_SECONDS * 1000),
        String(c.LOGIN_DELAY_BASE_SECONDS * 1000),
        String(stateTtl),
      )) as [number, number, number];
    } catch {
      throw new DomainError('UNAVAILABLE', 'login is unavailable; try again shortly');
    }
    const [code, waitMs, known] = reply;
    const reason = REASONS[code] ?? 'ip';
    if (reason !== 'admitted') {
      this.throttled.inc({ reason });
      throw new TooManyLoginsError(MESSAGES[reason], Math.max(1, Math.ceil(waitMs / 1000)));
    }
    return { account, clientIp, known: known === 1 };
  }

  /** The attempt's password was right. */
  async succeeded(ticket: LoginTicket): Promise<void> {
    await this.redis
      .eval(
        SUCCESS_SCRIPT,
        4,
        ...this.keys(ticket.account, ticket.clientIp),
        ticket.known ? '1' : '0',
        String(this.config.LOGIN_KNOWN_IP_DAYS * 24 * 3600),
      )
      .catch(() => undefined);
  }
}
