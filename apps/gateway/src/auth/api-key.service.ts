import { Inject, Injectable } from '@nestjs/common';
import { DomainError, notFound } from '@maas/app-runtime';
import { type ApiKey, PrismaService } from '@maas/db';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { generateApiKey, parseApiKey, secretMatches } from './api-key.codec.js';
import { API_KEY_SCOPES, type ApiKeyScope, type Principal } from './principal.js';

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
export class ApiKeyService {
  // Short-lived so that a revoke or a suspension takes effect within the cache time.
  private readonly cache = new Map<string, CachedKey>();

  constructor(
    private readonly prisma: PrismaService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async create(
    tenantId: string,
    input: { name: string; scopes?: ApiKeyScope[]; expiresAt?: Date },
  ): Promise<ReturnType<typeof apiKeyView> & { key: string }> {
    const { key, prefix, secretHash } = generateApiKey();
    const record = await this.prisma.apiKey.create({
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
    return this.prisma.apiKey.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
  }

  async revoke(tenantId: string, keyId: string): Promise<ApiKey> {
    const key = await this.prisma.apiKey.findFirst({ where: { id: keyId, tenantId } });
    if (!key) throw notFound('api key');
    const revoked = await this.prisma.apiKey.update({
      where: { id: key.id },
      data: { revokedAt: key.revokedAt ?? new Date() },
    });
    this.cache.delete(key.prefix);
    return revoked;
  }

  /** Resolves a presented key to its tenant, or throws UNAUTHENTICATED (one message for all). */
  async authenticate(rawKey: string): Promise<Extract<Principal, { kind: 'api-key' }>> {
    const invalid = new DomainError('UNAUTHENTICATED', 'invalid API key');
    const parsed = parseApiKey(rawKey);
    if (!parsed) throw invalid;
    const record = await this.lookup(parsed.prefix);
    if (!record || !secretMatches(parsed.secret, record.secretHash)) throw invalid;
    if (record.revokedAt) throw invalid;
    if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
      throw new DomainError('UNAUTHENTICATED', 'API key expired');
    }
    if (record.tenant.status !== 'active') {
      throw new DomainError('PERMISSION_DENIED', 'tenant is suspended');
    }
    return {
      kind: 'api-key',
      tenantId: record.tenantId,
      keyId: record.id,
      scopes: record.scopes as ApiKeyScope[],
    };
  }

  private async lookup(prefix: string): Promise<CachedKey['key']> {
    const cached = this.cache.get(prefix);
    if (cached && Date.now() - cached.fetchedAt < this.config.API_KEY_CACHE_MS) return cached.key;
    const key = await this.prisma.apiKey.findUnique({
      where: { prefix },
      include: { tenant: { select: { status: true } } },
    });
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(prefix, { key, fetchedAt: Date.now() });
    return key;
  }
}
