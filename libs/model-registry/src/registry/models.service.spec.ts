import { randomBytes } from 'node:crypto';
import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import { registryServices, tempFsStore } from './registry.fixtures.js';

describe('models', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let registry: ReturnType<typeof registryServices>;
  let tenantId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
    const keys = new TenantDataKeys(prisma, { id: 'key-a', key: randomBytes(32) });
    registry = registryServices(prisma, tempFsStore(), keys);
    tenantId = (await prisma.tenant.create({ data: { name: `limits-${Date.now()}` } })).id;
    await prisma.tenantQuota.create({ data: { tenantId, maxModels: 2 } });
    await registry.models.createModel(tenantId, { name: 'quota' });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
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
