import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbModule } from './db.module.js';
import { ModelVersionStatus, Prisma, TenantStatus, UserRole } from './generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

function uniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

describe('PrismaService', () => {
  let database: TestDatabase;
  let app: INestApplicationContext;
  let prisma: PrismaService;

  beforeAll(async () => {
    database = await createTestDatabase();
    @Module({ imports: [DbModule.forRoot({ databaseUrl: database.url })] })
    class TestAppModule {}
    app = await NestFactory.createApplicationContext(TestAppModule, { logger: false });
    prisma = app.get(PrismaService);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  async function createTenant(name = `tenant-${crypto.randomUUID()}`) {
    return prisma.tenant.create({ data: { name } });
  }

  it('answers the readiness check', async () => {
    await expect(prisma.check()).resolves.toBeUndefined();
  });

  it('cancels a statement past its statement timeout', async () => {
    const bounded = new PrismaService({ databaseUrl: database.url, statementTimeoutMs: 300 });
    try {
      await expect(bounded.$queryRaw`SELECT pg_sleep(5)::text`).rejects.toThrow(
        /statement timeout/,
      );
      await expect(bounded.check()).resolves.toBeUndefined();
    } finally {
      await bounded.$disconnect();
    }
  });

  it('refuses a query that cannot get a connection within the acquire timeout', async () => {
    const bounded = new PrismaService({
      databaseUrl: database.url,
      acquireTimeoutMs: 200,
      poolSize: 1,
    });
    try {
      await bounded.check();
      // The pool's one connection is busy for 2 s; the next query gives up instead of queueing.
      // (then: a Prisma query runs only once something awaits it)
      const holding = bounded.$queryRaw`SELECT pg_sleep(2)::text`.then(() => 'done');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(bounded.$queryRaw`SELECT 1`).rejects.toThrow();
      expect(await holding).toBe('done');
      await expect(bounded.check()).resolves.toBeUndefined();
    } finally {
      await bounded.$disconnect();
    }
  });

  it('stores a tenant, its key, user, model, version and label with the schema defaults', async () => {
    const tenant = await createTenant();
    expect(tenant).toMatchObject({ status: TenantStatus.active, plan: 'standard' });
    expect(tenant.createdAt).toBeInstanceOf(Date);

    const user = await prisma.user.create({
      data: {
        email: `${tenant.id}@example.com`,
        passwordHash: 'x',
        role: UserRole.owner,
        tenantId: tenant.id,
      },
    });
    const admin = await prisma.user.create({
      data: {
        email: `admin-${tenant.id}@example.com`,
        passwordHash: 'x',
        role: UserRole.platform_admin,
      },
    });
    expect(admin.tenantId).toBeNull();

    const expiresAt = new Date('2030-01-01T00:00:00.123Z');
    const apiKey = await prisma.apiKey.create({
      data: {
        tenantId: tenant.id,
        name: 'ci',
        prefix: `maas_live_${tenant.id}`,
        secretHash: 'hash',
        scopes: ['models:read', 'inference'],
        expiresAt,
      },
    });
    expect(apiKey.scopes).toEqual(['models:read', 'inference']);
    expect(apiKey.expiresAt).toEqual(expiresAt);

    const model = await prisma.model.create({
      data: { tenantId: tenant.id, name: 'iris', metadata: { owner: 'ml-team', tags: ['demo'] } },
    });
    expect(model).toMatchObject({ description: '', nextVersion: 1, deletedAt: null });

    const version = await prisma.modelVersion.create({
      data: {
        tenantId: tenant.id,
        modelId: model.id,
        number: 1,
        format: 'onnx',
        artifactKey: `tenants/${tenant.id}/models/${model.id}/versions/1/model.onnx`,
        sizeBytes: 5_000_000_000n,
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      },
    });
    expect(version).toMatchObject({
      status: ModelVersionStatus.uploading,
      outputs: [],
      servingConfig: null,
    });
    expect(version.sizeBytes).toBe(5_000_000_000n);

    const label = await prisma.modelLabel.create({
      data: {
        modelId: model.id,
        name: 'production',
        targets: { create: [{ versionId: version.id }] },
      },
      include: { targets: true },
    });
    expect(label.targets).toEqual([{ labelId: label.id, versionId: version.id, weight: 100 }]);

    const loaded = await prisma.tenant.findUniqueOrThrow({
      where: { id: tenant.id },
      include: {
        users: true,
        apiKeys: true,
        models: { include: { versions: true, labels: { include: { targets: true } } } },
      },
    });
    expect(loaded.users.map((u) => u.id)).toEqual([user.id]);
    expect(loaded.apiKeys.map((k) => k.id)).toEqual([apiKey.id]);
    expect(loaded.models[0]!.metadata).toEqual({ owner: 'ml-team', tags: ['demo'] });
    expect(loaded.models[0]!.versions[0]!.inputs).toEqual([
      { name: 'features', datatype: 'FP32', shape: [-1, 4] },
    ]);
    expect(loaded.models[0]!.labels[0]!.targets[0]!.versionId).toBe(version.id);

    const updated = await prisma.modelVersion.update({
      where: { modelId_number: { modelId: model.id, number: 1 } },
      data: { status: ModelVersionStatus.ready, sha256: 'a'.repeat(64) },
    });
    expect(updated.status).toBe('ready');
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(version.updatedAt.getTime());
  });

  it('hands out version numbers atomically with UPDATE ... RETURNING', async () => {
    const tenant = await createTenant();
    const model = await prisma.model.create({ data: { tenantId: tenant.id, name: 'counter' } });

    const numbers = await Promise.all(
      Array.from({ length: 5 }, () =>
        prisma.model.update({ where: { id: model.id }, data: { nextVersion: { increment: 1 } } }),
      ),
    );

    expect(numbers.map((m) => m.nextVersion - 1).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('enforces unique tenant names, model names per tenant and version numbers per model', async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await expect(createTenant(tenant.name)).rejects.toSatisfy(uniqueViolation);

    const model = await prisma.model.create({ data: { tenantId: tenant.id, name: 'shared-name' } });
    await expect(
      prisma.model.create({ data: { tenantId: tenant.id, name: 'shared-name' } }),
    ).rejects.toSatisfy(uniqueViolation);
    // the same name in another tenant's namespace is fine
    await expect(
      prisma.model.create({ data: { tenantId: other.id, name: 'shared-name' } }),
    ).resolves.toBeTruthy();

    const version = {
      tenantId: tenant.id,
      modelId: model.id,
      number: 1,
      format: 'onnx' as const,
      artifactKey: 'k',
    };
    await prisma.modelVersion.create({ data: version });
    await expect(prisma.modelVersion.create({ data: version })).rejects.toSatisfy(uniqueViolation);
  });

  it('deletes a tenant with everything it owns', async () => {
    const tenant = await createTenant();
    const keep = await createTenant();
    const model = await prisma.model.create({ data: { tenantId: tenant.id, name: 'doomed' } });
    const keptModel = await prisma.model.create({ data: { tenantId: keep.id, name: 'kept' } });
    const version = await prisma.modelVersion.create({
      data: { tenantId: tenant.id, modelId: model.id, number: 1, format: 'tfjs', artifactKey: 'k' },
    });
    await prisma.modelLabel.create({
      data: {
        modelId: model.id,
        name: 'production',
        targets: { create: [{ versionId: version.id }] },
      },
    });
    await prisma.apiKey.create({
      data: {
        tenantId: tenant.id,
        name: 'k',
        prefix: `p-${tenant.id}`,
        secretHash: 'h',
        scopes: [],
      },
    });
    await prisma.user.create({
      data: {
        email: `u-${tenant.id}@example.com`,
        passwordHash: 'x',
        role: 'developer',
        tenantId: tenant.id,
      },
    });

    await prisma.tenant.delete({ where: { id: tenant.id } });

    expect(await prisma.model.count({ where: { tenantId: tenant.id } })).toBe(0);
    expect(await prisma.modelVersion.count({ where: { modelId: model.id } })).toBe(0);
    expect(await prisma.modelLabel.count({ where: { modelId: model.id } })).toBe(0);
    expect(await prisma.modelLabelTarget.count({ where: { versionId: version.id } })).toBe(0);
    expect(await prisma.apiKey.count({ where: { tenantId: tenant.id } })).toBe(0);
    expect(await prisma.user.count({ where: { tenantId: tenant.id } })).toBe(0);
    expect(await prisma.model.findUnique({ where: { id: keptModel.id } })).not.toBeNull();
  });

  it('drops a label target when its version is deleted, keeping the label', async () => {
    const tenant = await createTenant();
    const model = await prisma.model.create({ data: { tenantId: tenant.id, name: 'canary' } });
    const [v1, v2] = await Promise.all(
      [1, 2].map((number) =>
        prisma.modelVersion.create({
          data: {
            tenantId: tenant.id,
            modelId: model.id,
            number,
            format: 'onnx',
            artifactKey: `k${number}`,
          },
        }),
      ),
    );
    const label = await prisma.modelLabel.create({
      data: {
        modelId: model.id,
        name: 'production',
        targets: {
          create: [
            { versionId: v1!.id, weight: 90 },
            { versionId: v2!.id, weight: 10 },
          ],
        },
      },
    });

    await prisma.modelVersion.delete({ where: { id: v2!.id } });

    const targets = await prisma.modelLabelTarget.findMany({ where: { labelId: label.id } });
    expect(targets).toEqual([{ labelId: label.id, versionId: v1!.id, weight: 90 }]);
  });
});
