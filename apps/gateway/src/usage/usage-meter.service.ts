import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type Logger, METRICS_REGISTRY, REDIS } from '@maas/app-runtime';
import { Gauge, type Registry } from 'prom-client';
import { PrismaService } from '@maas/db';
import type { Redis } from 'ioredis';
import { GATEWAY_LOGGER } from '../auth/auth.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

export interface UsageEvent {
  tenantId: string;
  /** API key id, `user:<id>` for a user's JWT, "" when unknown */
  apiKeyId: string;
  modelName: string;
  modelVersion: number;
  rows: number;
  status: number;
  latencyMs: number;
  at?: Date;
}

const METRICS = ['requests', 'rows', 'errors', 'latency'] as const;

/** Moves `pending` to a batch of its own (one atomic step), so new usage lands in a fresh hash. */
const SEAL_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
`;

interface CounterRow {
  tenantId: string;
  hour: Date;
  apiKeyId: string;
  modelName: string;
  modelVersion: number;
  requests: number;
  rows: number;
  errors: number;
  latency: number;
}

/**
 * Usage metering: each request increments hourly counters in a Redis hash (`pending`); every
 * USAGE_FLUSH_MS (and at start and shutdown) the hash is sealed into a batch with an id, the
 * batch is added to Postgres in one transaction that also records the id in usage_flushes,
 * and only then the batch is deleted from Redis (the ack). A crash before the commit leaves the
 * batch in Redis for the next flush; a crash after the commit but before the ack is recognised
 * by the id and the batch is just deleted: nothing is lost and nothing is counted twice.
 */
@Injectable()
export class UsageMeterService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private pushing?: Promise<void>;
  private pushTimer?: NodeJS.Timeout;
  private buffer = new Map<string, Record<(typeof METRICS)[number], number>>();
  private lastFlushAt = Date.now();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    const lastFlushAt = () => this.lastFlushAt;
    new Gauge({
      name: 'maas_usage_flush_lag_seconds',
      help: 'Seconds since this gateway last flushed usage counters to Postgres',
      registers: [registry],
      collect() {
        this.set((Date.now() - lastFlushAt()) / 1000);
      },
    });
  }

  private key(name: string): string {
    return `${this.config.REDIS_PREFIX}:usage:${name}`;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.config.USAGE_FLUSH_MS);
    this.timer.unref();
    this.pushTimer = setInterval(() => void this.pushBuffer(), this.config.USAGE_BUFFER_MS);
    this.pushTimer.unref();
    void this.flush();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pushTimer);
    await this.flush();
  }

  /**
   * Counts one request. Counts are summed in memory and added to Redis in one pipeline per
   * USAGE_BUFFER_MS (and before every flush), not with a Redis call per request.
   */
  record(event: UsageEvent): void {
    const hour = new Date(event.at ?? Date.now());
    hour.setUTCMinutes(0, 0, 0);
    const field = JSON.stringify([
      event.tenantId,
      hour.toISOString(),
      event.apiKeyId,
      event.modelName,
      event.modelVersion,
    ]);
    let counts = this.buffer.get(field);
    if (!counts) {
      counts = { requests: 0, rows: 0, errors: 0, latency: 0 };
      this.buffer.set(field, counts);
    }
    counts.requests += 1;
    counts.rows += Math.max(0, Math.floor(event.rows));
    counts.errors += event.status >= 400 ? 1 : 0;
    counts.latency += Math.max(0, Math.round(event.latencyMs));
  }

  /** Adds the counts summed in memory to Redis's pending hash (kept for a retry on failure). */
  private pushBuffer(): Promise<void> {
    this.pushing = (this.pushing ?? Promise.resolve()).then(async () => {
      if (this.buffer.size === 0) return;
      const buffer = this.buffer;
      this.buffer = new Map();
      const pending = this.key('pending');
      const pipeline = this.redis.multi();
      for (const [field, counts] of buffer) {
        for (const metric of METRICS) {
          if (counts[metric] !== 0) pipeline.hincrby(pending, `${metric} ${field}`, counts[metric]);
        }
      }
      try {
        const results = await pipeline.exec();
        if (!results || results.some(([error]) => error)) throw new Error('usage pipeline failed');
      } catch (error) {
        // MULTI/EXEC applies all or nothing: put the counts back for the next push.
        for (const [field, counts] of buffer) {
          const current = this.buffer.get(field);
          if (!current) this.buffer.set(field, counts);
          else for (const metric of METRICS) current[metric] += counts[metric];
        }
        // Metering must never fail a request that has already been answered.
        this.logger.warn({ err: error }, 'usage not yet recorded (redis); will retry');
      }
    });
    return this.pushing;
  }

  /** One flush at a time per process; concurrent gateways are safe through the batch ids. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'usage flush failed; will retry'))
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    await this.pushBuffer();
    const batches = this.key('batches');
    // Batches left by a crashed or failed flush, of this gateway or another, come first.
    for (const id of await this.redis.smembers(batches)) await this.applyAndAck(id);
    const id = randomUUID();
    const sealed = await this.redis.eval(
      SEAL_SCRIPT,
      3,
      this.key('pending'),
      this.key(`batch:${id}`),
      batches,
      id,
    );
    if (sealed === 1) await this.applyAndAck(id);
    this.lastFlushAt = Date.now();
  }

  async applyAndAck(id: string): Promise<void> {
    await this.apply(id);
    await this.ack(id);
  }

  /** Adds a sealed batch to usage_counters unless it was added before. */
  async apply(id: string): Promise<void> {
    const hash = await this.redis.hgetall(this.key(`batch:${id}`));
    const rows = new Map<string, CounterRow>();
    for (const [name, value] of Object.entries(hash)) {
      const space = name.indexOf(' ');
      const metric = name.slice(0, space) as (typeof METRICS)[number];
      const field = name.slice(space + 1);
      if (!METRICS.includes(metric)) continue;
      let row = rows.get(field);
      if (!row) {
        const [tenantId, hour, apiKeyId, modelName, modelVersion] = JSON.parse(field) as [
          string,
          string,
          string,
          string,
          number,
        ];
        row = {
          tenantId,
          hour: new Date(hour),
          apiKeyId,
          modelName,
          modelVersion,
          requests: 0,
          rows: 0,
          errors: 0,
          latency: 0,
        };
        rows.set(field, row);
      }
      row[metric] += Number(value);
    }
    await this.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO usage_flushes (id) VALUES (${id}) ON CONFLICT (id) DO NOTHING`;
      if (inserted === 0) return;
      for (const row of rows.values()) {
        await tx.$executeRaw`
          INSERT INTO usage_counters
            (tenant_id, hour, api_key_id, model_name, model_version, requests, rows, errors, latency_ms_total)
          VALUES (${row.tenantId}::uuid, ${row.hour}, ${row.apiKeyId}, ${row.modelName},
                  ${row.modelVersion}, ${row.requests}, ${row.rows}, ${row.errors}, ${row.latency})
          ON CONFLICT (tenant_id, hour, api_key_id, model_name, model_version) DO UPDATE SET
            requests = usage_counters.requests + EXCLUDED.requests,
            rows = usage_counters.rows + EXCLUDED.rows,
            errors = usage_counters.errors + EXCLUDED.errors,
            latency_ms_total = usage_counters.latency_ms_total + EXCLUDED.latency_ms_total`;
      }
    });
  }

  async ack(id: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.key(`batch:${id}`))
      .srem(this.key('batches'), id)
      .exec();
  }
}
