import { randomBytes } from 'node:crypto';
import { PrismaService } from '@maas/db';
import { useTestDatabase } from '@maas/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import { RegistryError } from './registry.errors.js';
import { failure, registryServices, tempFsStore } from './registry.fixtures.js';

const db = useTestDatabase((url) => new PrismaService({ databaseUrl: url }));
let prisma: PrismaService;

beforeAll(() => {
  prisma = db.client;
});

describe('names no model can have', () => {
  it('are missing (404) without a query: a NUL byte in a URL never reaches Postgres', async () => {
    const keys = new TenantDataKeys(prisma, { id: 'key-a', key: randomBytes(32) });
    const { models, resolution } = registryServices(prisma, tempFsStore(), keys);
    const tenantId = (await prisma.tenant.create({ data: { name: `t-names-${Date.now()}` } })).id;
    for (const name of ['\u0000', 'a\u0000b', 'line\nbreak', 'UPPER', '', 'x'.repeat(64)]) {
      expect(await failure(models.getModel(tenantId, name))).toMatchObject({
        code: 'NOT_FOUND',
        message: `model '${name}' not found`,
      });
      for (const selector of [{}, { version: 1 }, { label: 'production' }]) {
        expect(
          await failure(resolution.resolveCandidates(tenantId, name, selector)),
        ).toBeInstanceOf(RegistryError);
      }
      expect(await failure(models.deleteModel(tenantId, name))).toMatchObject({
        code: 'NOT_FOUND',
      });
    }
    // Without the check, Postgres itself refuses the name (not a 404: a 500 before).
    const refused = await failure(
      prisma.model.findFirst({ where: { tenantId, name: 'a\u0000b' } }),
    );
    expect(refused).toMatchObject({
      meta: { driverAdapterError: { cause: { originalCode: '22021' } } },
    });
  });
});
