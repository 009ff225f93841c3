import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  APP_LOGGER,
  type Logger,
  METRICS_REGISTRY,
  REDIS,
  RedisScript,
  setIoDeadline,
} from '@maas/app-runtime';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PrismaService } from '@maas/db';
import type { Redis } from 'ioredis';
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

/**
 * Adds counts to a gateway's open batch while it is still open, and moves its deadline on.
 * KEYS: the batch's hash, `open` (sorted set: batch id → deadline, ms on Redis's clock).
 * ARGV: id, grace ms, '1' to open it (a new id), then field / amount pairs.
 * Returns 1, or 0 (nothing added) when the batch is no longer open: a flush closed it once its
 * deadline had passed, or Redis lost it. The gateway then retires it and opens another.
 */
const PUSH_SCRIPT = new RedisScript(`
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
if ARGV[3] ~= '1' and not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`);

/**
 * Closes this gateway's open batch (ARGV[1]), putting it on the list flushes apply; SWEEP_SCRIPT
 * closes those of gateways that are gone. KEYS: `open`, `batches`.
 */
const CLOSE_SCRIPT = new RedisScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`);

/**
 * A flush's look at Redis, in one call: closes the open batches whose deadline has passed
 * (their gateway was killed, or has been idle since), seals a `pending` hash left by an older
 * release into a batch of its own (ARGV[1] its id), and returns every batch to apply. An idle
 * gateway makes this one round trip per USAGE_FLUSH_MS.
 * KEYS: `open`, `batches`, `pending`, `batch:<ARGV[1]>`.
 */
const SWEEP_SCRIPT = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  if redis.call('ZREM', KEYS[1], id) == 1 then redis.call('SADD', KEYS[2], id) end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[4])
  redis.call('SADD', KEYS[2], ARGV[1])
end
return redis.call('SMEMBERS', KEYS[2])
`);

/**
 * Sets a batch aside for an operator (`quarantine:<id>`, listed in the `quarantined` set) and
 * takes it off the list of batches to apply, in one atomic step.
 */
const QUARANTINE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[4], ARGV[1])
end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
return 1
`;

/** The hour (UTC, ISO 8601) last asked for by hourOf, and where it ends. */
let lastHour: { name: string; from: number; until: number } | undefined;
const HOUR_MS = 3_600_000;

/**
 * The start of the UTC hour of `t` (ms since the epoch) in ISO 8601: usage is counted per hour.
 * Every answered request asks: answered from the hour last computed while `t` falls within it.
 */
export function hourOf(t: number): string {
  if (lastHour && t >= lastHour.from && t < lastHour.until) return lastHour.name;
  const from = Math.floor(t / HOUR_MS) * HOUR_MS;
  lastHour = { name: new Date(from).toISOString(), from, until: from + HOUR_MS };
  return lastHour.name;
}

/** Flushes a batch may fail, while Postgres answers, before it is quarantined. */
export const MAX_BATCH_ATTEMPTS = 3;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT4_MAX = 2 ** 31 - 1;

/** Text Postgres stores (no NUL byte) of a sane length. */
function isStorableText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 1000 && !value.includes('\u0000');
}

interface OpenBatch {
  id: string;
  /** What was added to it, for a rewrite should Redis lose it before Postgres has it. */
  fields: Record<string, number>;
  /** Whether a push has opened it in Redis yet. */
  opened: boolean;
}

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
 * Usage metering. Each gateway adds its counts to a batch of its own that stays open in Redis
 * (`open`, with a deadline) until its next flush closes it; a successful answer is added before
 * it is sent (USAGE_RECORDED_BEFORE_ANSWER: one script call per event-loop turn, shared by that
 * turn's answers), everything else is summed in memory and added every USAGE_BUFFER_MS. Every
 * USAGE_FLUSH_MS (and at start and shutdown) each closed batch is added to Postgres in one
 * transaction that also records its id in usage_flushes, and only then deleted from Redis (the
 * ack). A crash before the commit leaves the batch for the next flush (of any gateway); a crash
 * after it but before the ack is recognised by the id. A killed gateway's open batch is closed
 * by any flush once its deadline (USAGE_OPEN_BATCH_GRACE_MS after its last push) has passed. The gateway that wrote a batch keeps its counts in
 * memory until Postgres has them and writes them again if Redis lost them (`confirm`).
 * What can be lost: with USAGE_RECORDED_BEFORE_ANSWER nothing a client was answered; refused
 * and failed requests of a gateway's last USAGE_BUFFER_MS when it is killed; and what it held
 * unconfirmed when it and Redis's data are lost together. (A `pending` hash left by an older
 * release is still sealed into a batch and flushed.)
 */
@Injectable()
export class UsageMeterService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private pushing?: Promise<void>;
  private pushTimer?: NodeJS.Timeout;
  private buffer = new Map<string, Record<(typeof METRICS)[number], number>>();
  private lastFlushAt = Date.now();
  private readonly quarantined: Counter<'reason'>;
  private readonly recovered: Counter;
  /** Batches this gateway wrote to Redis that Postgres has not confirmed yet, by id. */
  private readonly unconfirmed = new Map<string, Record<string, string>>();
  /** This gateway's batch that pushes add to, until its flush closes it. */
  private open?: OpenBatch;
  /** The push that requests recorded in this event-loop turn wait for. */
  private nextPush?: Promise<void>;
  /** The counter field `record` built last, and what it was built from. */
  private lastField?: Pick<UsageEvent, 'tenantId' | 'apiKeyId' | 'modelName' | 'modelVersion'> & {
    hour: string;
    field: string;
  };

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
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
    this.quarantined = new Counter({
      name: 'maas_usage_quarantined_total',
      help: 'Usage set aside in Redis (usage:quarantine:<batch>) instead of Postgres: whole batches that kept failing (reason=batch_failed), or counter rows Postgres cannot store (reason=invalid_row)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.recovered = new Counter({
      name: 'maas_usage_batches_rewritten_total',
      help: 'Usage batches Redis had lost (restart without its data) that this gateway wrote again from memory',
      registers: [registry],
    });
    const unconfirmed = this.unconfirmed;
    new Gauge({
      name: 'maas_usage_unconfirmed_batches',
      help: 'Usage batches this gateway holds in memory until Postgres confirms them',
      registers: [registry],
      collect() {
        this.set(unconfirmed.size);
      },
    });
  }

  private key(name: string): string {
    return `${this.config.REDIS_PREFIX}:usage:${name}`;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.config.USAGE_FLUSH_MS);
    this.timer.unref();
    void this.flush();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.pushTimer);
    await this.flush();
  }

  /**
   * Counts one request. Counts are summed in memory and added to Redis by one script call per
   * USAGE_BUFFER_MS (and before every flush), not with a Redis call per request.
   */
  record(event: UsageEvent): void {
    const hour = hourOf(event.at?.getTime() ?? Date.now());
    // Consecutive requests are mostly the same key, model and hour: their field is built once.
    let last = this.lastField;
    if (
      last === undefined ||
      last.hour !== hour ||
      last.tenantId !== event.tenantId ||
      last.apiKeyId !== event.apiKeyId ||
      last.modelName !== event.modelName ||
      last.modelVersion !== event.modelVersion
    ) {
      const { tenantId, apiKeyId, modelName, modelVersion } = event;
      const field = JSON.stringify([tenantId, hour, apiKeyId, modelName, modelVersion]);
      last = this.lastField = { hour, tenantId, apiKeyId, modelName, modelVersion, field };
    }
    const field = last.field;
    let counts = this.buffer.get(field);
    if (!counts) {
      counts = { requests: 0, rows: 0, errors: 0, latency: 0 };
      this.buffer.set(field, counts);
      this.schedulePush();
    }
    counts.requests += 1;
    counts.rows += Math.max(0, Math.floor(event.rows));
    counts.errors += event.status >= 400 ? 1 : 0;
    counts.latency += Math.max(0, Math.round(event.latencyMs));
  }

  /**
   * Counts one answered request and resolves once the count is in Redis (or could not be put
   * there within LIMITS_REDIS_TIMEOUT_MS: it then stays in memory for the next push). Every
   * request recorded in the same event-loop turn shares one script call.
   */
  recordBeforeAnswer(event: UsageEvent): Promise<void> {
    this.record(event);
    // One push, and one deadline, for every answer recorded in this turn (no timer per request).
    this.nextPush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.nextPush = undefined;
      const pushed = this.pushBuffer();
      return new Promise<void>((resolve) => {
        const timer = setIoDeadline(resolve, this.config.LIMITS_REDIS_TIMEOUT_MS ?? 1_000);
        void pushed.finally(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    });
    return this.nextPush;
  }

  /**
   * A push USAGE_BUFFER_MS from now, once counts wait in memory: no timer runs while there are
   * none (an idle gateway does not wake for it).
   */
  private schedulePush(): void {
    if (this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      void this.pushBuffer();
    }, this.config.USAGE_BUFFER_MS);
    this.pushTimer.unref();
  }

  /** Runs `task` after every push and close before it, one at a time. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = (this.pushing ?? Promise.resolve()).then(task);
    this.pushing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Adds the counts summed in memory to this gateway's open batch (kept for a retry on failure). */
  private pushBuffer(): Promise<void> {
    return this.serially(async () => {
      if (this.buffer.size === 0) return;
      const buffer = this.buffer;
      this.buffer = new Map();
      const amounts: [string, number][] = [];
      for (const [field, counts] of buffer) {
        for (const metric of METRICS) {
          if (counts[metric] !== 0) amounts.push([`${metric} ${field}`, counts[metric]]);
        }
      }
      try {
        await this.addToOpenBatch(amounts);
      } catch (error) {
        // The script adds all or nothing: put the counts back for the next push.
        for (const [field, counts] of buffer) {
          const current = this.buffer.get(field);
          if (!current) this.buffer.set(field, counts);
          else for (const metric of METRICS) current[metric] += counts[metric];
        }
        this.schedulePush();
        // Metering must never fail a request that has already been answered.
        this.logger.warn({ err: error }, 'usage not yet recorded (redis); will retry');
      }
    });
  }

  private async addToOpenBatch(amounts: [string, number][]): Promise<void> {
    // A second try only after the open batch turned out closed (or lost): a new one opens.
    for (let attempt = 0; attempt < 2; attempt++) {
      const open = (this.open ??= { id: randomUUID(), fields: {}, opened: false });
      const added = await PUSH_SCRIPT.run(
        this.redis,
        [this.key(`batch:${open.id}`), this.key('open')],
        [open.id, this.openGraceMs(), open.opened ? '0' : '1', ...amounts.flat()],
      );
      if (added === 1) {
        open.opened = true;
        for (const [name, amount] of amounts) open.fields[name] = (open.fields[name] ?? 0) + amount;
        return;
      }
      this.retire(open);
    }
    throw new Error('no usage batch could be opened');
  }

  /**
   * How long an open batch outlives its gateway's last push before any flush may close it. Its
   * own flush normally closes it first; past this its gateway is gone or idle (a live one that
   * pushes again then finds it closed and opens another). Independent of USAGE_FLUSH_MS, so a
   * killed gateway's counts reach PostgreSQL within this plus another gateway's flush interval.
   */
  private openGraceMs(): number {
    return this.config.USAGE_OPEN_BATCH_GRACE_MS ?? 3_000;
  }

  /** Forgets the open batch, keeping its counts until Postgres confirms them (`confirm`). */
  private retire(open: OpenBatch): void {
    if (this.open === open) this.open = undefined;
    if (Object.keys(open.fields).length === 0) return;
    this.unconfirmed.set(
      open.id,
      Object.fromEntries(Object.entries(open.fields).map(([name, n]) => [name, String(n)])),
    );
  }

  /** Closes this gateway's open batch so that flushes apply it; the next push opens another. */
  private closeOwnBatch(): Promise<void> {
    return this.serially(async () => {
      const open = this.open;
      if (!open) return;
      // Retired first: whether this closes it, a flush did already, or Redis lost it (a failed
      // call leaves it to close at its deadline), `confirm` finds out from Postgres and Redis.
      this.retire(open);
      if (open.opened) {
        await CLOSE_SCRIPT.run(this.redis, [this.key('open'), this.key('batches')], [open.id]);
      }
    });
  }

  private async writeBatch(id: string, fields: Record<string, string>): Promise<void> {
    const results = await this.redis
      .multi()
      .hset(this.key(`batch:${id}`), fields)
      .sadd(this.key('batches'), id)
      .exec();
    if (!results || results.some(([error]) => error)) throw new Error('usage pipeline failed');
  }

  /**
   * Forgets the batches this gateway wrote that Postgres now has (or an operator holds in
   * quarantine), and writes again those Redis no longer has although Postgres never got them:
   * Redis lost its data. A batch another gateway applied between the two reads is written
   * again too, and then recognised by its id in usage_flushes: counted once.
   */
  private async confirm(): Promise<void> {
    if (this.unconfirmed.size === 0) return;
    const ids = [...this.unconfirmed.keys()];
    const applied = await this.prisma.usageFlush.findMany({
      where: { id: { in: ids } },
      select: { id: true },
    });
    for (const { id } of applied) this.unconfirmed.delete(id);
    const left = ids.filter((id) => this.unconfirmed.has(id));
    if (left.length === 0) return;
    const [queued, quarantined] = await Promise.all([
      this.redis.smismember(this.key('batches'), ...left),
      this.redis.smismember(this.key('quarantined'), ...left),
    ]);
    let rewritten = 0;
    for (const [i, id] of left.entries()) {
      if (quarantined[i]) this.unconfirmed.delete(id);
      else if (!queued[i]) {
        await this.writeBatch(id, this.unconfirmed.get(id)!);
        rewritten += 1;
      }
    }
    if (rewritten > 0) {
      this.recovered.inc(rewritten);
      this.logger.warn(
        { batches: rewritten },
        'usage batches missing from Redis (data lost) written again from this gateway',
      );
    }
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
    await this.closeOwnBatch();
    const sealed = randomUUID();
    // Open batches whose gateway is gone (killed) or idle past their deadline are closed, and
    // every closed batch listed: one that fails does not hold up the others.
    const listed = (await SWEEP_SCRIPT.run(
      this.redis,
      [this.key('open'), this.key('batches'), this.key('pending'), this.key(`batch:${sealed}`)],
      [sealed],
    )) as string[];
    let failures = 0;
    for (const id of listed) {
      if (!(await this.applyOrCountFailure(id))) failures++;
    }
    await this.confirm();
    if (failures === 0) this.lastFlushAt = Date.now();
  }

  async applyAndAck(id: string): Promise<void> {
    const rejected = await this.apply(id);
    await this.ack(id, rejected);
  }

  /**
   * Applies and acks a batch; false when that failed. A failure while Postgres answers is the
   * batch's own (counted per batch in Redis, so across gateways): after MAX_BATCH_ATTEMPTS
   * such failures it is quarantined. With Postgres down nothing is counted and the flush stops.
   */
  private async applyOrCountFailure(id: string): Promise<boolean> {
    try {
      await this.applyAndAck(id);
      return true;
    } catch (error) {
      const reachable = await this.prisma.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      );
      if (!reachable) throw error;
      const attempts = await this.redis.hincrby(this.key('attempts'), id, 1);
      if (attempts < MAX_BATCH_ATTEMPTS) {
        this.logger.warn({ err: error, batch: id, attempts }, 'usage batch failed; will retry');
        return false;
      }
      await this.redis.eval(
        QUARANTINE_SCRIPT,
        5,
        this.key(`batch:${id}`),
        this.key(`quarantine:${id}`),
        this.key('batches'),
        this.key('quarantined'),
        this.key('attempts'),
        id,
      );
      this.quarantined.inc({ reason: 'batch_failed' });
      this.logger.error(
        { err: error, batch: id, attempts, key: this.key(`quarantine:${id}`) },
        'usage batch quarantined: it kept failing while Postgres answered',
      );
      return false;
    }
  }

  /**
   * Adds a sealed batch to usage_counters unless it was added before. Returns the batch's
   * fields Postgres could not store (left out; `ack` quarantines them), so that one bad row
   * never keeps every other tenant's usage from being flushed.
   */
  async apply(id: string): Promise<Record<string, string>> {
    const hash = await this.redis.hgetall(this.key(`batch:${id}`));
    const rows = new Map<string, CounterRow>();
    const rejected: Record<string, string> = {};
    for (const [name, value] of Object.entries(hash)) {
      const space = name.indexOf(' ');
      const metric = name.slice(0, space) as (typeof METRICS)[number];
      const field = name.slice(space + 1);
      if (!METRICS.includes(metric)) continue;
      let row = rows.get(field);
      if (!row) {
        const parsed = counterRowOf(field);
        if (!parsed) {
          rejected[name] = value;
          continue;
        }
        row = parsed;
        rows.set(field, row);
      }
      const amount = Number(value);
      if (!Number.isSafeInteger(amount) || amount < 0) rejected[name] = value;
      else row[metric] += amount;
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
    return rejected;
  }

  /** Drops an applied batch from Redis, keeping the fields `apply` left out for an operator. */
  async ack(id: string, rejected: Record<string, string> = {}): Promise<void> {
    const transaction = this.redis.multi();
    const count = Object.keys(rejected).length;
    if (count > 0) {
      transaction.hset(this.key(`quarantine:${id}`), rejected).sadd(this.key('quarantined'), id);
    }
    await transaction
      .del(this.key(`batch:${id}`))
      .srem(this.key('batches'), id)
      .hdel(this.key('attempts'), id)
      .exec();
    if (count > 0) {
      this.quarantined.inc({ reason: 'invalid_row' }, count);
      this.logger.error(
        { batch: id, fields: Object.keys(rejected), key: this.key(`quarantine:${id}`) },
        'usage counters Postgres cannot store were quarantined',
      );
    }
  }
}

/** A batch field (`[tenant, hour, key, model, version]`) as a row, or undefined if unstorable. */
function counterRowOf(field: string): CounterRow | undefined {
  let parts: unknown;
  try {
    parts = JSON.parse(field);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 5) return undefined;
  const [tenantId, hourText, apiKeyId, modelName, modelVersion] = parts as unknown[];
  const hour = typeof hourText === 'string' ? new Date(hourText) : undefined;
  if (
    typeof tenantId !== 'string' ||
    !UUID.test(tenantId) ||
    !hour ||
    Number.isNaN(hour.getTime()) ||
    !isStorableText(apiKeyId) ||
    !isStorableText(modelName) ||
    typeof modelVersion !== 'number' ||
    !Number.isInteger(modelVersion) ||
    modelVersion < 0 ||
    modelVersion > INT4_MAX
  ) {
    return undefined;
  }
  return {
    tenantId,
    hour,
    apiKeyId,
    modelName,
    modelVersion,
    requests: 0,
    rows: 0,
    errors: 0,
    latency: 0,
  };
}
