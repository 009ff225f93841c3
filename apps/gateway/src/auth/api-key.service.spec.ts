import { describe, expect, it } from 'vitest';
import type { PrismaService } from '@maas/db';
import type { GatewayConfig } from '../config/gateway-config.js';
import { generateApiKey } from './api-key.codec.js';
import { ApiKeyService } from './api-key.service.js';
import type { CacheInvalidationService } from './cache-invalidation.service.js';

function serviceWith(records: Record<string, unknown>[]) {
  const prisma = {
    apiKey: {
      findUnique: ({ where }: { where: { prefix: string } }) =>
        Promise.resolve(records.find((r) => r.prefix === where.prefix) ?? null),
    },
  } as unknown as PrismaService;
  return new ApiKeyService(
    prisma,
    { API_KEY_CACHE_MS: 60_000 } as GatewayConfig,
    {} as CacheInvalidationService,
  );
}

describe('ApiKeyService.authenticate', () => {
  const generated = generateApiKey();
  const record = {
    id: 'k1',
    prefix: generated.prefix,
    secretHash: generated.secretHash,
    tenantId: 't1',
    scopes: ['infer'],
    revokedAt: null,
    expiresAt: null,
    tenant: { status: 'active' },
  };

  it('accepts the key again from its cached record, and still refuses a wrong secret after it', async () => {
    const keys = serviceWith([record]);
    for (let i = 0; i < 3; i++) {
      await expect(keys.authenticate(generated.key)).resolves.toMatchObject({ tenantId: 't1' });
    }
    // Same prefix and length, one character off: must not ride on the verified secret.
    const last = generated.key.at(-1) === 'a' ? 'b' : 'a';
    const forged = generated.key.slice(0, -1) + last;
    await expect(keys.authenticate(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(keys.authenticate(`${generated.key}x`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(keys.authenticate(generated.key)).resolves.toMatchObject({ keyId: 'k1' });
  });

  it('refuses a key whose prefix matches no record', async () => {
    await expect(serviceWith([]).authenticate(generated.key)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });
});
