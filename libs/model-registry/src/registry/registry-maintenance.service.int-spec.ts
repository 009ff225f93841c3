import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MasterKey } from '../integrity/envelope.js';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { tenantPrefix } from '../storage/storage-keys.js';
import {
  failure,
  gemm,
  registryServices,
  tempFsStore,
  uploadOnnxVersion,
  useRegistryStores,
} from './registry.fixtures.js';

const masterA: MasterKey = { id: 'key-a', key: randomBytes(32) };

const shared = useRegistryStores();

describe.each(shared.drivers)('registry bytes on the %s store', (driver, createStore) => {
  let store: ObjectStore;
  let registry: ReturnType<typeof registryServices>;
  let tenantId: string;

  beforeAll(async () => {
    const { prisma } = shared;
    store = await createStore();
    registry = registryServices(prisma, store, new TenantDataKeys(prisma, masterA));
    tenantId = (await prisma.tenant.create({ data: { name: `t-${driver}-${Date.now()}` } })).id;
  });

  const upload = (name: string, body: Buffer) =>
    uploadOnnxVersion(registry, tenantId, name, body, 'api-key:test');

  it('removes bytes when a version, a model and a tenant are deleted', async () => {
    const model = await registry.models.createModel(tenantId, { name: 'doomed' });
    await upload('doomed', gemm());
    await upload('doomed', gemm([1, 1, 1]));
    const modelKeys = () => store.list(`${tenantPrefix(tenantId)}models/${model.id}`);
    expect(await modelKeys()).toHaveLength(2);

    const archived = await registry.versions.deleteVersion(tenantId, 'doomed', 1);
    expect(archived.status).toBe('archived');
    expect((await modelKeys()).map((k) => k.split('/').slice(-3, -1).join('/'))).toEqual([
      'versions/2',
    ]);
    expect(
      await failure(registry.resolution.resolveVersion(tenantId, 'doomed', { version: 1 })),
    ).toMatchObject({ code: 'NOT_FOUND' });

    await registry.models.deleteModel(tenantId, 'doomed');
    expect(await modelKeys()).toEqual([]);
    expect(await failure(registry.resolution.resolveVersion(tenantId, 'doomed', {}))).toMatchObject(
      {
        code: 'NOT_FOUND',
      },
    );
    // The name is free again at once, numbering starts over.
    await registry.models.createModel(tenantId, { name: 'doomed' });
    expect((await upload('doomed', gemm())).number).toBe(1);

    expect((await store.list(tenantPrefix(tenantId))).length).toBeGreaterThan(0);
    await registry.maintenance.purgeTenant(tenantId);
    expect(await store.list(tenantPrefix(tenantId))).toEqual([]);
  });
});

describe('registry sweep', () => {
  let store: ObjectStore;
  let registry: ReturnType<typeof registryServices>;
  let tenantId: string;

  beforeAll(async () => {
    const { prisma } = shared;
    store = tempFsStore();
    registry = registryServices(prisma, store, new TenantDataKeys(prisma, masterA));
    tenantId = (await prisma.tenant.create({ data: { name: `sweep-${Date.now()}` } })).id;
  });

  it('sweeps what a crash left behind: stuck uploads, leftover bytes, deleted models', async () => {
    const upload = (name: string, bias: number[]) =>
      uploadOnnxVersion(registry, tenantId, name, gemm(bias));
    const crashy = await registry.models.createModel(tenantId, { name: 'crashy' });
    const archived = await upload('crashy', [1, 0, 0]);
    const stuck = await upload('crashy', [2, 0, 0]);
    const kept = await upload('crashy', [3, 0, 0]);
    // Archived, but the process died before its bytes went.
    await shared.prisma.modelVersion.update({
      where: { id: archived.id },
      data: { status: 'archived' },
    });
    // A gateway died mid-upload two hours ago.
    await shared.prisma.modelVersion.update({
      where: { id: stuck.id },
      data: { status: 'uploading' },
    });
    await shared.prisma
      .$executeRaw`UPDATE model_versions SET updated_at = now() - interval '2 hours' WHERE id = ${stuck.id}::uuid`;
    // Soft-deleted, bytes never removed.
    const gone = await registry.models.createModel(tenantId, { name: 'gone' });
    await upload('gone', [0, 0, 0]);
    await shared.prisma.model.update({
      where: { id: gone.id },
      data: { deletedAt: new Date(), name: `gone~deleted~${gone.id}` },
    });

    const result = await registry.maintenance.sweepDeletedArtifacts();
    expect(result.interruptedUploads).toBe(1);
    expect(result.purgedModels).toBeGreaterThanOrEqual(1);
    expect(await store.list(`${tenantPrefix(tenantId)}models/${crashy.id}`)).toEqual([
      kept.artifactKey,
    ]);
    expect(await store.list(`${tenantPrefix(tenantId)}models/${gone.id}`)).toEqual([]);
    expect(await shared.prisma.model.findUnique({ where: { id: gone.id } })).toBeNull();
    expect(await registry.versions.getVersion(tenantId, 'crashy', stuck.number)).toMatchObject({
      status: 'failed',
      statusReason: 'upload interrupted',
    });
  });
});
