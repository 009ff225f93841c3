import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { REDIS } from '@maas/app-runtime';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

export type CacheInvalidation =
  | { kind: 'key'; prefix: string }
  | { kind: 'tenant'; tenantId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'model'; tenantId: string; model: string };

/**
 * Tells every gateway to drop what it cached about a key, a tenant (status, limits), a user or
 * a model (resolved versions: a delete or a label move serves at once),
 * over Redis pub/sub: a revoke or a suspension is in force everywhere within milliseconds.
 * The caches' short TTL (API_KEY_CACHE_MS) remains the bound when a message is lost.
 */
@Injectable()
export class CacheInvalidationService implements OnModuleInit, OnModuleDestroy {
  private subscriber?: Redis;
  private readonly listeners: ((event: CacheInvalidation) => void)[] = [];

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  private get channel(): string {
    return `${this.config.REDIS_PREFIX}:cache:invalidate`;
  }

  async onModuleInit(): Promise<void> {
    const subscriber = this.redis.duplicate({ enableAutoPipelining: false });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // the main client reports Redis trouble
    subscriber.on('message', (_channel: string, message: string) => {
      let event: CacheInvalidation;
      try {
        event = JSON.parse(message) as CacheInvalidation;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(event);
    });
    // Not subscribed (Redis down at boot): the caches still expire by their TTL.
    await subscriber.subscribe(this.channel).catch(() => undefined);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  onInvalidate(listener: (event: CacheInvalidation) => void): void {
    this.listeners.push(listener);
  }

  /** Applied here at once, and on every other gateway as the message arrives. */
  async publish(event: CacheInvalidation): Promise<void> {
    for (const listener of this.listeners) listener(event);
    await this.redis.publish(this.channel, JSON.stringify(event)).catch(() => undefined);
  }
}
