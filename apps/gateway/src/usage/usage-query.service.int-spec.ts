import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageQueryService } from './usage-query.service.js';

// Against the real Postgres: what GET /api/usage and /api/admin/usage answer from hourly rows.
describe('UsageQueryService', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let usage: UsageQueryService;
  let tenantA: string;
  let tenantB: string;
  const range = { from: new Date('2030-03-01T00:00:00Z'), to: new Date('2030-04-01T00:00:00Z') };

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
    usage = new UsageQueryService(prisma);
    tenantA = (await prisma.tenant.create({ data: { name: 'usage-a' } })).id;
    tenantB = (await prisma.tenant.create({ data: { name: 'usage-b' } })).id;
    const row = (tenantId: string, hour: string, modelName: string, requests: bigint) => ({
      tenantId,
      hour: new Date(hour),
      apiKeyId: 'k1',
      modelName,
      requests,
      rows: requests * 2n,
      errors: 1n,
      latencyMsTotal: requests * 10n,
    });
    await prisma.usageCounter.createMany({
      data: [
        row(tenantA, '2030-03-02T01:00:00Z', 'iris', 3n),
        row(tenantA, '2030-03-02T23:00:00Z', 'wine', 4n),
        row(tenantA, '2030-03-05T12:00:00Z', 'iris', 5n),
        // outside the range
        row(tenantA, '2030-04-01T00:00:00Z', 'iris', 100n),
        row(tenantB, '2030-03-02T01:00:00Z', 'iris', 50n),
      ],
    });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  it('folds a tenant’s hours into UTC days, leaving other tenants out', async () => {
    const result = await usage.query({ tenantId: tenantA, ...range, groupBy: 'day' });
    expect(result.totals).toEqual({ requests: 12, rows: 24, errors: 3 });
    expect(result.items).toEqual([
      { key: '2030-03-02', requests: 7, rows: 14, errors: 2, avgLatencyMs: 10 },
      { key: '2030-03-05', requests: 5, rows: 10, errors: 1, avgLatencyMs: 10 },
    ]);
  });

  it('groups by model within the tenant, and by tenant across tenants for admins', async () => {
    const byModel = await usage.query({ tenantId: tenantA, ...range, groupBy: 'model' });
    expect(byModel.items.map((i) => [i.key, i.requests])).toEqual([
      ['iris', 8],
      ['wine', 4],
    ]);
    const byTenant = await usage.query({ ...range, groupBy: 'tenant' });
    expect(new Map(byTenant.items.map((i) => [i.key, i.requests]))).toEqual(
      new Map([
        [tenantA, 12],
        [tenantB, 50],
      ]),
    );
  });
});
