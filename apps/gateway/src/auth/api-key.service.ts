import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  DomainError,
  LabelledCounter,
  LruCache,
  METRICS_REGISTRY,
  notFound,
} from '@maas/app-runtime';
import { type ApiKey, PrismaService } from '@maas/db';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { CacheInvalidationService } from './cache-invalidation.service.js';
import { generateApiKey, parseApiKey, secretMatches } from './api-key.codec.js';
import { API_KEY_SCOPES, type ApiKeyScope, type Principal } from './principal.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.service.js';

const LAST_USED_FLUSH_MS = 5_000;

type KeyRecord = ApiKey & { tenant: { status: string } };

/** How a lookup was answered (the `result` label of maas_api_key_cache_lookups_total). */
const LOOKUP_RESULTS = ['hit', 'negative_hit', 'refresh', 'miss'] as const;
type LookupResult = (typeof LOOKUP_RESULTS)[number];

export function apiKeyView(key: ApiKey) {
  return {
    id: key.id,
    tenantId: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    createdAt: key.createdAt.toISOString(),
  };
}

/**
 * API keys: creation, revocation, and authentication through a cache of two bounded LRU maps.
 * Keys found in PostgreSQL (live, revoked or expired) and prefixes found nowhere are kept
 * apart, so a flood of made-up keys only churns the small negative map and can neither push a
 * real key out nor clear the cache. A prefix that is in neither map is looked up only after its
 * client IP has paid for it (UnauthenticatedBudget); a known key refreshes without paying.
 */
@Injectable()
export class ApiKeyService implements OnModuleInit, OnModuleDestroy {
  // Entries count as fresh for API_KEY_CACHE_MS, so a revoke or a suspension takes effect
  // within that time even when an invalidation message is lost.
  private readonly found: LruCache<KeyRecord>;
  private readonly unknown: LruCache<null>;
  /** Lookups in flight, shared by the requests that need the same prefix meanwhile. */
  private readonly loading = new Map<string, Promise<KeyRecord | null>>();
  /** Bumped by invalidations: a lookup that started before one does not fill the cache. */
  private generation = 0;
  /** The secret last verified against each cached record (gone with the record). */
  private readonly verifiedSecrets = new WeakMap<object, Buffer>();
  // lastUsedAt is written in batches (one UPDATE per interval), not once per request.
  private lastUsed = new Map<string, Date>();
  private lastUsedTimer?: NodeJS.Timeout;
  /** Every request counts one lookup: a LabelledCounter, not prom-client's own. */
  private readonly lookups: LabelledCounter<'result'>;
  private readonly databaseLookups: Counter<'found'>;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly invalidation: CacheInvalidationService,
    private readonly budget: UnauthenticatedBudget,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.found = new LruCache(config.API_KEY_CACHE_ENTRIES);
    this.unknown = new LruCache(config.API_KEY_NEGATIVE_CACHE_ENTRIES);
    this.lookups = new LabelledCounter({
      name: 'maas_api_key_cache_lookups_total',
      help: 'API-key lookups by how the cache answered: hit, negative_hit, refresh (a known key past its cache time), miss',
      labelNames: ['result'],
      registers: [registry],
    });
    // Every result shows on /metrics from the start (0 until it happens).
    for (const result of LOOKUP_RESULTS) this.lookups.inc({ result }, 0);
    this.databaseLookups = new Counter({
      name: 'maas_api_key_db_lookups_total',
      help: 'API-key lookups that reached PostgreSQL, by whether the key was found',
      labelNames: ['found'],
      registers: [registry],
    });
    const found = this.found;
    const unknown = this.unknown;
    new Gauge({
      name: 'maas_api_key_cache_entries',
      help: 'Entries in the API-key cache: found keys and unknown prefixes',
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        this.set({ cache: 'found' }, found.size);
        this.set({ cache: 'unknown' }, unknown.size);
      },
    });
  }

  onModuleInit(): void {
    // An invalidated key is read again on its next use; it stays known, so that read does not
    // spend its client's unauthenticated budget.
    this.invalidation.onInvalidate((event) => {
      if (event.kind === 'key') {
        this.generation++;
        this.found.expire(event.prefix);
        this.unknown.delete(event.prefix);
      }
      if (event.kind === 'tenant') {
        this.generation++;
        this.found.expireWhere((_prefix, key) => key.tenantId === event.tenantId);
      }
    });
    this.lastUsedTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.lastUsedTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.lastUsedTimer);
    await this.flushLastUsed();
  }

  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = this.lastUsed;
    this.lastUsed = new Map();
    const ids = [...batch.keys()];
    const times = ids.map((id) => batch.get(id)!.toISOString());
    await this.prisma.$executeRaw`
      UPDATE api_keys AS k SET last_used_at = v.at
      FROM (SELECT unnest(${ids}::uuid[]) AS id, unnest(${times}::timestamptz[]) AS at) AS v
      WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)`.catch(() => {
      // Not worth failing anything for; the next use records it again.
    });
  }

  async create(
    tenantId: string,
    input: { name: string; scopes?: ApiKeyScope[]; expiresAt?: Date },
  ): Promise<ReturnType<typeof apiKeyView> & { key: string }> {
    const { key, prefix, secretHash } = generateApiKey();
    const record = await this.prisma.forTenant(tenantId).apiKey.create({
      data: {
        tenantId,
        name: input.name,
        prefix,
        secretHash,
        scopes: input.scopes ?? [...API_KEY_SCOPES],
        expiresAt: input.expiresAt,
      },
    });
    return { ...apiKeyView(record), key };
  }

  list(tenantId: string): Promise<ApiKey[]> {
    return this.prisma.forTenant(tenantId).apiKey.findMany({ orderBy: { createdAt: 'asc' } });
  }

  async revoke(tenantId: string, keyId: string): Promise<ApiKey> {
    const keys = this.prisma.forTenant(tenantId).apiKey;
    const key = await keys.findUnique({ where: { id: keyId } });
    if (!key) throw notFound('api key');
    const revoked = await keys.update({
      where: { id: key.id },
      data: { revokedAt: key.revokedAt ?? new Date() },
    });
    await this.invalidation.publish({ kind: 'key', prefix: key.prefix });
    return revoked;
  }

  /**
   * Resolves a presented key to its tenant, or throws UNAUTHENTICATED (one message for all).
   * Every failure spends from the client IP's unauthenticated budget (429 once it is spent);
   * a key the cache does not know spends before the database is asked.
   */
  async authenticate(
    rawKey: string,
    clientIp: string,
  ): Promise<Extract<Principal, { kind: 'api-key' }>> {
    let spent = false;
    const invalid = (message = 'invalid API key') => {
      if (!spent) this.budget.spend(clientIp);
      return new DomainError('UNAUTHENTICATED', message);
    };
    const parsed = parseApiKey(rawKey);
    if (!parsed) throw invalid();
    const record = await this.lookup(parsed.prefix, () => {
      this.budget.spend(clientIp);
      spent = true;
    });
    if (!record || !this.secretVerified(record, parsed.secret)) throw invalid();
    if (record.revokedAt) throw invalid();
    if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
      throw invalid('API key expired');
    }
    if (record.tenant.status !== 'active') {
      throw new DomainError('PERMISSION_DENIED', 'tenant is suspended');
    }
    this.lastUsed.set(record.id, new Date());
    return {
      kind: 'api-key',
      tenantId: record.tenantId,
      keyId: record.id,
      scopes: record.scopes as ApiKeyScope[],
    };
  }

  /**
   * Checks the secret against the stored hash once per cached record: the hash is the hot
   * path's largest fixed cost, and a record lives only API_KEY_CACHE_MS. Compared in constant
   * time either way.
   */
  /**
   * The tenant of `rawKey` when this gateway has already verified exactly this key and still
   * holds it, without a lookup or a hash (fair admission's client, before authentication);
   * undefined for anything else. Authentication proper still runs on every request.
   */
  tenantOfVerifiedKey(rawKey: string): string | undefined {
    const parsed = parseApiKey(rawKey);
    const record = parsed && this.found.peek(parsed.prefix)?.value;
    if (!record) return undefined;
    const known = this.verifiedSecrets.get(record);
    const presented = Buffer.from(parsed.secret);
    return known && known.length === presented.length && timingSafeEqual(known, presented)
      ? record.tenantId
      : undefined;
  }

  private secretVerified(record: object & { secretHash: string }, secret: string): boolean {
    const presented = Buffer.from(secret);
    const known = this.verifiedSecrets.get(record);
    if (known && known.length === presented.length && timingSafeEqual(known, presented)) {
      return true;
    }
    if (!secretMatches(secret, record.secretHash)) return false;
    this.verifiedSecrets.set(record, presented);
    return true;
  }

  /**
   * The record for `prefix`: from the cache while fresh; else from PostgreSQL, a prefix the
   * cache has never found paying `spendBudget` first (it throws the 429).
   */
  private lookup(
    prefix: string,
    spendBudget: () => void,
  ): Promise<KeyRecord | null> | KeyRecord | null {
    const now = Date.now();
    const ttl = this.config.API_KEY_CACHE_MS;
    const found = this.found.get(prefix);
    let result: LookupResult;
    if (found && now - found.at < ttl) {
      result = 'hit';
    } else if (found) {
      result = 'refresh';
    } else {
      const unknown = this.unknown.get(prefix);
      result = unknown && now - unknown.at < ttl ? 'negative_hit' : 'miss';
    }
    this.lookups.inc({ result });
    if (result === 'hit') return found!.value;
    // Aged out (not invalidated: that sets its time to 0): answered as known while one
    // background read refreshes it, so a busy or unreachable PostgreSQL does not stall
    // requests with keys it knew a moment ago; a revocation still applies at once.
    if (
      result === 'refresh' &&
      found!.at > 0 &&
      now - found!.at < ttl + this.config.STALE_IF_ERROR_MS
    ) {
      this.load(prefix).catch(() => undefined);
      return found!.value;
    }
    if (result === 'negative_hit') return null;
    if (result === 'miss') spendBudget();
    return this.load(prefix);
  }

  private load(prefix: string): Promise<KeyRecord | null> {
    const pending = this.loading.get(prefix);
    if (pending) return pending;
    const generation = this.generation;
    const loaded = this.prisma.apiKey
      .findUnique({ where: { prefix }, include: { tenant: { select: { status: true } } } })
      .then((record) => {
        this.databaseLookups.inc({ found: String(record !== null) });
        if (generation === this.generation) {
          if (record) {
            // A refreshed record with the same hash is the same key: the secret verified against
            // the record it replaces still matches, so the hot path does not hash it again and
            // fair admission keeps naming its client by tenant (not by IP until the next request
            // re-verifies it, every API_KEY_CACHE_MS).
            const previous = this.found.peek(prefix)?.value;
            const verified =
              previous?.secretHash === record.secretHash
                ? this.verifiedSecrets.get(previous)
                : undefined;
            if (verified) this.verifiedSecrets.set(record, verified);
            this.found.set(prefix, record);
            this.unknown.delete(prefix);
          } else {
            this.found.delete(prefix);
            this.unknown.set(prefix, null);
          }
        }
        return record;
      })
      .finally(() => this.loading.delete(prefix));
    this.loading.set(prefix, loaded);
    return loaded;
  }
}
