import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { clientIdentityOf, DomainError, LruCache, METRICS_REGISTRY } from '@maas/app-runtime';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/** Clients tracked at once; a client pushed out comes back with a full bucket, like a new one. */
const TRACKED_CLIENTS = 100_000;

export class TooManyUnauthenticatedError extends DomainError {
  readonly problemType = 'unauthenticated-requests-exceeded';
  constructor(readonly retryAfterSeconds: number) {
    super('RESOURCE_EXHAUSTED', 'too many unauthenticated requests from this address');
  }
}

/**
 * A token bucket per client IP (an IPv6 client by its /64) for requests that do not
 * authenticate from the cache: no credentials, a malformed, unknown or wrong key, a bad token.
 * Spent before the database is asked about a key, so a flood of made-up keys costs PostgreSQL
 * at most the bucket's rate per client IP.
 *
 * In process, not in Redis: it guards this gateway's own database lookups, so a per-process
 * budget bounds exactly what it protects (N gateways allow N budgets, as they do N connection
 * pools); it answers without a network round trip, so a flood costs no Redis traffic and
 * still works when Redis is slow or down.
 */
@Injectable()
export class UnauthenticatedBudget {
  private readonly buckets = new LruCache<{ tokens: number; at: number }>(TRACKED_CLIENTS);
  private readonly rejections: Counter;
  /** Milliseconds, monotonic (replaced in tests). */
  now: () => number = () => performance.now();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.rejections = new Counter({
      name: 'maas_unauthenticated_rejections_total',
      help: 'Requests refused (429) because their client IP spent its unauthenticated budget',
      registers: [registry],
    });
  }

  /** Takes one token for `clientIp`, or throws the 429 (with Retry-After) to answer. */
  spend(clientIp: string): void {
    const rate = this.config.UNAUTHENTICATED_REQUESTS_PER_SECOND;
    const burst = this.config.UNAUTHENTICATED_BURST;
    const key = clientIdentityOf(clientIp);
    const now = this.now();
    const bucket = this.buckets.get(key)?.value;
    const tokens = bucket
      ? Math.min(burst, bucket.tokens + ((now - bucket.at) * rate) / 1000)
      : burst;
    if (tokens < 1) {
      this.rejections.inc();
      throw new TooManyUnauthenticatedError(Math.max(1, Math.ceil((1 - tokens) / rate)));
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
  }
}
