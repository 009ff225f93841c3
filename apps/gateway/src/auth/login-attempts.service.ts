import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, REDIS } from '@maas/app-runtime';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

const WINDOW_SECONDS = 15 * 60;

/** Counts an attempt against the account and the IP (fixed window); returns counts and TTL. */
const ATTEMPT_SCRIPT = `
local a = redis.call('INCR', KEYS[1])
if a == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local i = redis.call('INCR', KEYS[2])
if i == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {a, i, math.max(redis.call('TTL', KEYS[1]), redis.call('TTL', KEYS[2]))}
`;

class TooManyLoginsError extends DomainError {
  readonly problemType = 'login-attempts-exceeded';
  constructor(readonly retryAfterSeconds: number) {
    super('RESOURCE_EXHAUSTED', 'too many login attempts; try again later');
  }
}

/**
 * Login attempts per account and per IP in a 15-minute window. Every attempt is counted before
 * the password is checked (so parallel guesses cannot slip past the limit); a successful login
 * gives its attempt back.
 */
@Injectable()
export class LoginAttemptsService {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  private keys(account: string, ip: string): [string, string] {
    const id = createHash('sha256').update(account).digest('hex').slice(0, 32);
    const base = `${this.config.REDIS_PREFIX}:login-attempts`;
    return [`${base}:account:${id}`, `${base}:ip:${ip}`];
  }

  async check(account: string, ip: string): Promise<void> {
    let counts: [number, number, number];
    try {
      counts = (await this.redis.eval(
        ATTEMPT_SCRIPT,
        2,
        ...this.keys(account, ip),
        String(WINDOW_SECONDS),
      )) as [number, number, number];
    } catch {
      throw new DomainError('UNAVAILABLE', 'login is unavailable; try again shortly');
    }
    const [perAccount, perIp, ttl] = counts;
    if (
      perAccount > this.config.LOGIN_ATTEMPTS_PER_ACCOUNT ||
      perIp > this.config.LOGIN_ATTEMPTS_PER_IP
    ) {
      throw new TooManyLoginsError(Math.max(1, ttl));
    }
  }

  /** A successful login clears the account's count and gives the IP its attempt back. */
  async succeeded(account: string, ip: string): Promise<void> {
    const [accountKey, ipKey] = this.keys(account, ip);
    await this.redis
      .multi()
      .del(accountKey)
      .decr(ipKey)
      .exec()
      .catch(() => undefined);
  }
}
