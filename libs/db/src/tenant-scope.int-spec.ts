import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from './generated/prisma/client.js';
import { PrismaService, type TenantPrisma } from './prisma.service.js';
import { TenantScopeError } from './tenant-scope.js';

function notFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}

describe('PrismaService.forTenant', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let scopedA: TenantPrisma;
  // tenant B's rows, made with the bare client
  const b = { tenantId: '', modelId: '', versionId: '', labelId: '', datasetId: '', jobId: '' };
  let tenantA: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
    await prisma.$connect();
    tenantA = (await prisma.tenant.create({ data: { name: 'scope-a' } })).id;
    scopedA = prisma.forTenant(tenantA);

    b.tenantId = (await prisma.tenant.create({ data: { name: 'scope-b' } })).id;
    const model = await prisma.model.create({ data: { tenantId: b.tenantId, name: 'shared' } });
    b.modelId = model.id;
    const version = await prisma.modelVersion.create({
      data: {
        tenantId: b.tenantId,
        modelId: model.id,
        number: 1,
        format: 'onnx',
        artifactKey: 'k',
      },
    });
    b.versionId = version.id;
    b.labelId = (await prisma.modelLabel.create({ data: { modelId: model.id, name: 'prod' } })).id;
    const dataset = await prisma.dataset.create({
      data: {
        tenantId: b.tenantId,
        name: 'd',
        storageKey: 'k',
        sizeBytes: 10n,
        sha256: 'x',
        rows: 1,
        columns: [],
      },
    });
    b.datasetId = dataset.id;
    const job = await prisma.trainingJob.create({
      data: {
        tenantId: b.tenantId,
        datasetId: dataset.id,
        modelName: 'shared',
        algorithm: 'mlp',
        task: 'classification',
        target: 'y',
        features: ['x'],
        events: { create: { type: 'state', data: { status: 'queued' } } },
      },
    });
    b.jobId = job.id;
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  const untouchedB = async () => {
    const model = await prisma.model.findUniqueOrThrow({ where: { id: b.modelId } });
    expect(model).toMatchObject({ tenantId: b.tenantId, name: 'shared', description: '' });
    expect(await prisma.modelLabel.count({ where: { id: b.labelId } })).toBe(1);
    expect(await prisma.trainingJobEvent.count({ where: { jobId: b.jobId } })).toBe(1);
  };

  it('fills in the tenant on create, and the tenant reads its own rows back', async () => {
    // The cast stands for a caller that forgot tenantId: the scoped client files it anyway.
    const model = await scopedA.model.create({
      data: { name: 'shared' } as Prisma.ModelUncheckedCreateInput,
    });
    expect(model.tenantId).toBe(tenantA);
    const version = await scopedA.modelVersion.create({
      data: { modelId: model.id, number: 1, format: 'onnx', artifactKey: 'a' },
    } as unknown as Prisma.ModelVersionCreateArgs);
    expect(version.tenantId).toBe(tenantA);
    const counters = await scopedA.usageCounter.createManyAndReturn({
      data: [{ hour: new Date('2030-01-01T00:00:00Z'), requests: 3n }],
    } as unknown as Prisma.UsageCounterCreateManyAndReturnArgs);
    expect(counters.map((c) => c.tenantId)).toEqual([tenantA]);
    const label = await scopedA.modelLabel.create({ data: { modelId: model.id, name: 'prod' } });
    await scopedA.modelLabelTarget.create({
      data: { labelId: label.id, versionId: version.id, weight: 100 },
    });

    const found = await scopedA.model.findUnique({
      where: { tenantId_name: { tenantId: tenantA, name: 'shared' } },
      include: { labels: { include: { targets: true } } },
    });
    expect(found?.labels[0]?.targets).toEqual([
      { labelId: label.id, versionId: version.id, weight: 100 },
    ]);
  });

  it('never reads another tenant’s rows, even when the where names them', async () => {
    expect(await scopedA.model.findUnique({ where: { id: b.modelId } })).toBeNull();
    await expect(scopedA.model.findUniqueOrThrow({ where: { id: b.modelId } })).rejects.toSatisfy(
      notFound,
    );
    expect(await scopedA.model.findFirst({ where: { name: 'shared', tenantId: b.tenantId } })).toBe(
      null,
    );
    expect((await scopedA.model.findMany()).map((m) => m.tenantId)).toEqual([tenantA]);
    expect(await scopedA.modelVersion.count()).toBe(1);
    expect(await scopedA.modelVersion.findUnique({ where: { id: b.versionId } })).toBeNull();
    expect(await scopedA.dataset.findFirst({ where: { id: b.datasetId } })).toBeNull();
    expect(await scopedA.trainingJob.count({ where: { id: b.jobId } })).toBe(0);
    expect(await scopedA.trainingJobEvent.findMany({ where: { jobId: b.jobId } })).toEqual([]);
    expect(await scopedA.modelLabel.findUnique({ where: { id: b.labelId } })).toBeNull();
    expect(await scopedA.modelLabelTarget.count()).toBe(1);
    expect(await scopedA.tenant.findUnique({ where: { id: b.tenantId } })).toBeNull();
    const sum = await scopedA.dataset.aggregate({ _sum: { sizeBytes: true } });
    expect(sum._sum.sizeBytes).toBeNull();
    const groups = await scopedA.model.groupBy({ by: ['tenantId'], _count: true });
    expect(groups).toEqual([{ tenantId: tenantA, _count: 1 }]);
  });

  it('cannot update or delete another tenant’s rows: they answer as missing ones', async () => {
    await expect(
      scopedA.model.update({ where: { id: b.modelId }, data: { description: 'taken over' } }),
    ).rejects.toSatisfy(notFound);
    const many = await scopedA.model.updateMany({ data: { description: 'all of them' } });
    expect(many.count).toBe(1);
    await expect(scopedA.modelLabel.delete({ where: { id: b.labelId } })).rejects.toSatisfy(
      notFound,
    );
    expect((await scopedA.trainingJobEvent.deleteMany({ where: { jobId: b.jobId } })).count).toBe(
      0,
    );
    expect((await scopedA.trainingJob.deleteMany()).count).toBe(0);
    await untouchedB();
    const own = await scopedA.model.findFirstOrThrow();
    expect(own.description).toBe('all of them');
  });

  it('cannot file a row under another tenant or hang it off another tenant’s parent', async () => {
    await expect(
      scopedA.model.create({ data: { tenantId: b.tenantId, name: 'intruder' } }),
    ).rejects.toBeInstanceOf(TenantScopeError);
    await expect(
      scopedA.trainingJob.create({
        data: {
          tenantId: tenantA,
          datasetId: b.datasetId,
          modelName: 'x',
          algorithm: 'mlp',
          task: 'classification',
          target: 'y',
        },
      }),
    ).rejects.toSatisfy(notFound);
    await expect(
      scopedA.modelLabel.create({ data: { modelId: b.modelId, name: 'hijack' } }),
    ).rejects.toSatisfy(notFound);
    await expect(
      scopedA.trainingJobEvent.create({ data: { jobId: b.jobId, type: 'log', data: {} } }),
    ).rejects.toSatisfy(notFound);
    await expect(
      scopedA.model.updateMany({ data: { tenantId: b.tenantId } }),
    ).rejects.toBeInstanceOf(TenantScopeError);
    // createMany cannot check a parent in the same query, so it is refused where there is one.
    await expect(
      scopedA.modelLabelTarget.createMany({
        data: [{ labelId: b.labelId, versionId: b.versionId }],
      }),
    ).rejects.toBeInstanceOf(TenantScopeError);
    // Not tenant data at all.
    await expect(scopedA.usageFlush.findMany()).rejects.toBeInstanceOf(TenantScopeError);
    expect(await prisma.model.count({ where: { name: 'intruder' } })).toBe(0);
    await untouchedB();
  });

  it('keeps the scope inside interactive and batch transactions', async () => {
    const seen = await scopedA.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: { tenantId: tenantA, name: 'tx', prefix: 'p-tx', secretHash: 'h', scopes: [] },
      });
      const models = await tx.model.findMany({ select: { tenantId: true } });
      return { created, models };
    });
    expect(seen.created.tenantId).toBe(tenantA);
    expect(seen.models).toEqual([{ tenantId: tenantA }]);

    const [updated, labels] = await scopedA.$transaction([
      scopedA.model.updateMany({ data: { description: 'batch' } }),
      scopedA.modelLabel.findMany(),
    ]);
    expect(updated.count).toBe(1);
    expect(labels.map((label) => label.id)).not.toContain(b.labelId);
    await untouchedB();
  });
});
