import type { PrismaService } from '@maas/db';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RegistryServices, useRegistryOnFs } from './registry.fixtures.js';

describe('models', () => {
  const context = useRegistryOnFs('limits');
  let prisma: PrismaService;
  let registry: RegistryServices;
  let tenantId: string;

  beforeAll(async () => {
    ({ prisma, registry, tenantId } = context);
    await prisma.tenantQuota.create({ data: { tenantId, maxModels: 2 } });
    await registry.models.createModel(tenantId, { name: 'quota' });
  });

  it('refuses a model past the tenant’s maxModels, also when created concurrently', async () => {
    const results = await Promise.allSettled(
      ['m1', 'm2', 'm3'].map((name) => registry.models.createModel(tenantId, { name })),
    );
    // 'quota' already exists and the limit is 2: exactly one of the three fits.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
  });
});
