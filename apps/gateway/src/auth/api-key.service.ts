import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DomainError, notFound, TtlCache } from '@maas/app-runtime';
import { type ApiKey, PrismaService } from '@maas/db';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { CacheInvalidationService } from './cache-invalidation.service.js';
import { generateApiKey, parseApiKey, secretMatches } from './api-key.codec.js';
import { API_KEY_SCOPES, type ApiKeyScope, type Principal } from './principal.js';

const LAST_USED_FLUSH_MS = 5_000;

interface CachedKey {
  key: (ApiKey & { tenant: { status: string } }) | null;
  fetchedAt: number;
}

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

@Injectable()
export class ApiKeyService implements OnModuleInit, OnModuleDestroy {
  // Short-lived so that a revoke or a suspension takes effect within the cache time even
  // when an invalidation message is lost.
  private readonly cache: TtlCache<CachedKey['key']>;
  /** The secret last verified against each cached record (gone with the record). */
  private readonly verifiedSecrets = new WeakMap<object, Buffer>();
  // lastUsedAt is written in batches (one UPDATE per interval), not once per request.
  private lastUsed = new Map<string, Date>();
  private lastUsedTimer?: NodeJS.Timeout;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly invalidation: CacheInvalidationService,
  ) {
    this.cache = new TtlCache(config.API_KEY_CACHE_MS);
  }

  onModuleInit(): void {
    this.invalidation.onInvalidate((event) => {
      if (event.kind === 'key') this.cache.delete(event.prefix);
      if (event.kind === 'tenant') {
        this.cache.deleteWhere((_prefix, key) => !key || key.tenantId === event.tenantId);
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

  /** Resolves a presented key to its tenant, or throws UNAUTHENTICATED (one message for all). */
  async authenticate(rawKey: string): Promise<Extract<Principal, { kind: 'api-key' }>> {
    const invalid = () => new DomainError('UNAUTHENTICATED', 'invalid API key');
    const parsed = parseApiKey(rawKey);
    if (!parsed) throw invalid();
    const record = await this.lookup(parsed.prefix);
    if (!record || !this.secretVerified(record, parsed.secret)) throw invalid();
    if (record.revokedAt) throw invalid();
    if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
      throw new DomainError('UNAUTHENTICATED', 'API key expired');
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

  private lookup(prefix: string): Promise<CachedKey['key']> {
    return this.cache.get(prefix, () =>
      this.prisma.apiKey.findUnique({
        where: { prefix },
        include: { tenant: { select: { status: true } } },
      }),
    );
  }
}
