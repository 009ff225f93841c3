import { randomBytes } from 'node:crypto';
import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayConfig } from '../config/gateway-config.js';
import { generateApiKey } from './api-key.codec.js';
import { ApiKeyService } from './api-key.service.js';
import type { CacheInvalidation, CacheInvalidationService } from './cache-invalidation.service.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.service.js';

/** Invalidation delivered in process (what Redis pub/sub does across gateways). */
function localInvalidation() {
  const listeners: ((event: CacheInvalidation) => void)[] = [];
  return {
    onInvalidate: (listener: (event: CacheInvalidation) => void) => listeners.push(listener),
    publish: async (event: CacheInvalidation) => listeners.forEach((l) => l(event)),
  } as unknown as CacheInvalidationService;
}

const randomKey = () => generateApiKey().key;

// Against the real Postgres: what reaches the database is counted by the service's metrics.
describe('ApiKeyService', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let tenantId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
    tenantId = (
      await prisma.tenant.create({ data: { name: `keys-${randomBytes(3).toString('hex')}` } })
    ).id;
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  function setup(overrides: Partial<GatewayConfig> = {}) {
    const config = {
      API_KEY_CACHE_MS: 60_000,
      STALE_IF_ERROR_MS: 5 * 60_000,
      API_KEY_CACHE_ENTRIES: 100,
      API_KEY_NEGATIVE_CACHE_ENTRIES: 100,
      UNAUTHENTICATED_REQUESTS_PER_SECOND: 1,
      UNAUTHENTICATED_BURST: 1_000_000,
      ...overrides,
    } as GatewayConfig;
    const registry = new Registry();
    const budget = new UnauthenticatedBudget(config, registry);
    let now = 0;
    budget.now = () => now; // the budget never refills unless a test moves time
    const keys = new ApiKeyService(prisma, config, localInvalidation(), budget, registry);
    keys.onModuleInit();
    const metric = async (name: string, labels: Record<string, string> = {}) => {
      const values = (await registry.getSingleMetric(name)!.get()).values;
      return values
        .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
        .reduce((sum, v) => sum + v.value, 0);
    };
    return { keys, metric, advance: (ms: number) => (now += ms) };
  }

  it('accepts a key again from its cached record, and still refuses a wrong secret after it', async () => {
    const { keys, metric } = setup();
    const { key } = await keys.create(tenantId, { name: 'one' });
    for (let i = 0; i < 3; i++) {
      await expect(keys.authenticate(key, '203.0.113.1')).resolves.toMatchObject({ tenantId });
    }
    // Same prefix and length, one character off: must not ride on the verified secret.
    const forged = key.slice(0, -1) + (key.at(-1) === 'a' ? 'b' : 'a');
    await expect(keys.authenticate(forged, '203.0.113.1')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(`${key}x`, '203.0.113.1')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(key, '203.0.113.1')).resolves.toBeTruthy();
    expect(await metric('maas_api_key_db_lookups_total')).toBe(1);
    expect(await metric('maas_api_key_cache_lookups_total', { result: 'hit' })).toBe(4);
  });

  it('refuses an unknown key, and asks the database about it only while the client IP has budget', async () => {
    const { keys, metric } = setup({ UNAUTHENTICATED_BURST: 3 });
    for (let i = 0; i < 3; i++) {
      await expect(keys.authenticate(randomKey(), '198.51.100.9')).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
    }
    const refused = await keys.authenticate(randomKey(), '198.51.100.9').catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      problemType: 'unauthenticated-requests-exceeded',
    });
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Malformed keys never reach the database but pay all the same.
    await expect(keys.authenticate('not-a-key', '198.51.100.9')).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
    });
    expect(await metric('maas_api_key_db_lookups_total', { found: 'false' })).toBe(3);
    expect(await metric('maas_unauthenticated_rejections_total')).toBe(2);
    // Another client still has its own budget.
    await expect(keys.authenticate(randomKey(), '198.51.100.10')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('keeps a valid key through a flood of random keys that overflows the negative cache', async () => {
    const { keys, metric } = setup({ API_KEY_CACHE_ENTRIES: 2, API_KEY_NEGATIVE_CACHE_ENTRIES: 8 });
    const { key } = await keys.create(tenantId, { name: 'flooded' });
    await keys.authenticate(key, '192.0.2.1');
    for (let i = 0; i < 300; i++) {
      await expect(
        keys.authenticate(randomKey(), `10.0.${i >> 8}.${i & 255}`),
      ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      if (i % 30 === 0) await expect(keys.authenticate(key, '192.0.2.1')).resolves.toBeTruthy();
    }
    await expect(keys.authenticate(key, '192.0.2.1')).resolves.toBeTruthy();
    expect(await metric('maas_api_key_db_lookups_total', { found: 'true' })).toBe(1);
    expect(await metric('maas_api_key_db_lookups_total', { found: 'false' })).toBe(300);
    expect(await metric('maas_api_key_cache_entries', { cache: 'found' })).toBe(1);
    expect(await metric('maas_api_key_cache_entries', { cache: 'unknown' })).toBe(8);
  });

  it('remembers unknown prefixes for the cache time: a repeat is a negative hit, still paid for', async () => {
    const { keys, metric } = setup({ UNAUTHENTICATED_BURST: 2 });
    const unknown = randomKey();
    await expect(keys.authenticate(unknown, '192.0.2.7')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(unknown, '192.0.2.7')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(unknown, '192.0.2.7')).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
    });
    expect(await metric('maas_api_key_db_lookups_total')).toBe(1);
    expect(await metric('maas_api_key_cache_lookups_total', { result: 'negative_hit' })).toBe(2);
  });

  it('refreshes a known key past its cache time without spending the client budget', async () => {
    const { keys, metric } = setup({ API_KEY_CACHE_MS: 0, UNAUTHENTICATED_BURST: 1 });
    const { key } = await keys.create(tenantId, { name: 'refreshing' });
    await keys.authenticate(key, '192.0.2.9'); // first sight: pays its one token
    for (let i = 0; i < 5; i++) {
      await expect(keys.authenticate(key, '192.0.2.9')).resolves.toBeTruthy();
    }
    expect(await metric('maas_api_key_cache_lookups_total', { result: 'refresh' })).toBe(5);
    // Each stale answer started (at most) one background read; they refresh the record.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reads = await metric('maas_api_key_db_lookups_total', { found: 'true' });
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(6);
    await expect(keys.authenticate(randomKey(), '192.0.2.9')).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
    });
  });

  it('keeps naming a verified key’s tenant across refreshes of its record, and stops once its hash changes', async () => {
    const { keys } = setup({ API_KEY_CACHE_MS: 0 });
    const created = await keys.create(tenantId, { name: 'verified' });
    // Not verified yet: fair admission names the client by its IP.
    expect(keys.tenantOfVerifiedKey(created.key)).toBeUndefined();
    await keys.authenticate(created.key, '192.0.2.41');
    expect(keys.tenantOfVerifiedKey(created.key)).toBe(tenantId);
    // Stale on every use (cache time 0): each use starts a read that replaces the record.
    for (let i = 0; i < 3; i++) {
      await keys.authenticate(created.key, '192.0.2.41');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(keys.tenantOfVerifiedKey(created.key)).toBe(tenantId);
    }
    // A record whose hash is not the one verified (the key re-issued behind the cache's back)
    // does not inherit the verification.
    await prisma.apiKey.update({
      where: { id: created.id },
      data: { secretHash: 'f'.repeat(64) },
    });
    await expect(keys.authenticate(created.key, '192.0.2.41')).resolves.toBeTruthy(); // stale
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(keys.tenantOfVerifiedKey(created.key)).toBeUndefined();
  });

  it('answers a key past its cache time from the stale record while it is read again', async () => {
    const { keys } = setup({ API_KEY_CACHE_MS: 0 });
    const created = await keys.create(tenantId, { name: 'stale' });
    await expect(keys.authenticate(created.key, '192.0.2.40')).resolves.toBeTruthy();
    // Revoked behind the cache's back (no invalidation published, as if it were lost): the next
    // request is still answered from the record it knew, the read it starts brings the news.
    await prisma.apiKey.update({ where: { id: created.id }, data: { revokedAt: new Date() } });
    await expect(keys.authenticate(created.key, '192.0.2.40')).resolves.toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(keys.authenticate(created.key, '192.0.2.40')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('refuses a revoked key at once, and a wrong secret on a known key pays the budget', async () => {
    const { keys, advance } = setup({ UNAUTHENTICATED_BURST: 2 });
    const created = await keys.create(tenantId, { name: 'revoked' });
    await expect(keys.authenticate(created.key, '192.0.2.20')).resolves.toBeTruthy();
    await keys.revoke(tenantId, created.id);
    await expect(keys.authenticate(created.key, '192.0.2.20')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    const wrong = created.key.slice(0, -1) + (created.key.at(-1) === 'a' ? 'b' : 'a');
    await expect(keys.authenticate(wrong, '192.0.2.21')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(wrong, '192.0.2.21')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(wrong, '192.0.2.21')).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
    });
    advance(1000); // one token back at 1/s
    await expect(keys.authenticate(wrong, '192.0.2.21')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('does not cache a lookup that an invalidation overtook', async () => {
    const { keys, metric } = setup();
    const created = await keys.create(tenantId, { name: 'raced' });
    const invalidation = (keys as unknown as { invalidation: CacheInvalidationService })
      .invalidation;
    await keys.authenticate(created.key, '192.0.2.30');
    await invalidation.publish({ kind: 'tenant', tenantId });
    // A read starts; the message for the key arrives before its answer does.
    const racing = keys.authenticate(created.key, '192.0.2.30');
    await invalidation.publish({ kind: 'key', prefix: created.prefix });
    await expect(racing).resolves.toBeTruthy();
    // Its answer was not kept: the next use reads again (still without paying the budget).
    await expect(keys.authenticate(created.key, '192.0.2.30')).resolves.toBeTruthy();
    expect(await metric('maas_api_key_cache_lookups_total', { result: 'refresh' })).toBe(2);
    expect(await metric('maas_api_key_db_lookups_total', { found: 'true' })).toBe(3);
    await expect(keys.authenticate(created.key, '192.0.2.30')).resolves.toBeTruthy();
    expect(await metric('maas_api_key_cache_lookups_total', { result: 'hit' })).toBe(1);
  });
});
