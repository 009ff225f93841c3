import { randomBytes } from 'node:crypto';
import { PrismaService } from '@maas/db';
import { useTestDatabase } from '@maas/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  failure,
  gemm,
  MiB,
  registryServices,
  tempFsStore,
} from '../registry/registry.fixtures.js';
import { ArtifactReader } from './artifact-reader.js';
import type { MasterKey } from './envelope.js';
import { rotateMasterKey, TenantDataKeys } from './tenant-data-keys.js';

const masterA: MasterKey = { id: 'key-a', key: randomBytes(32) };
const masterB: MasterKey = { id: 'key-b', key: randomBytes(32) };

describe('master key rotation', () => {
  const db = useTestDatabase((url) => new PrismaService({ databaseUrl: url }));
  let prisma: PrismaService;

  beforeAll(() => {
    prisma = db.client;
  });

  it('re-wraps data keys under a new master key; artifacts still load, without rewriting them', async () => {
    const store = tempFsStore();
    const { models, uploads } = registryServices(
      prisma,
      store,
      new TenantDataKeys(prisma, masterA),
    );
    const tenantId = (await prisma.tenant.create({ data: { name: `rotation-${Date.now()}` } })).id;
    await models.createModel(tenantId, { name: 'rotated' });
    const version = await uploads.uploadVersion(tenantId, 'rotated', {
      format: 'onnx',
      body: gemm([5, 5, 5]),
      maxBytes: 64 * MiB,
      createdBy: 'user:1',
    });
    const before = await store.getBuffer(version.artifactKey);
    const result = await rotateMasterKey(prisma, masterA, masterB);
    expect(result.rewrapped).toBeGreaterThanOrEqual(1);
    expect(await rotateMasterKey(prisma, masterA, masterB)).toMatchObject({ rewrapped: 0 });
    expect(await store.getBuffer(version.artifactKey)).toEqual(before);

    const withNewKey = new ArtifactReader(store, new TenantDataKeys(prisma, masterB));
    expect(await withNewKey.read(version)).toEqual(gemm([5, 5, 5]));
    const withOldKey = new ArtifactReader(store, new TenantDataKeys(prisma, masterA));
    expect(await failure(withOldKey.read(version))).toMatchObject({ code: 'UNAVAILABLE' });
  });
});
