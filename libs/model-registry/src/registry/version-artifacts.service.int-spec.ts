import { randomBytes } from 'node:crypto';
import { PrismaService } from '@maas/db';
import { buildGemmModel } from '@maas/onnx';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MasterKey } from '../integrity/envelope.js';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { readTfjsArchive } from '../validation/tfjs-archive.js';
import { registryServices } from './registry.fixtures.js';
import type { TfjsCopyFiles, VersionArtifactsService } from './version-artifacts.service.js';

const master: MasterKey = { id: 'key-a', key: randomBytes(32) };

/** A one-layer TF.js layers model (Dense 2 → 1) as the trainer writes it. */
function tfjsCopy(): TfjsCopyFiles {
  const modelJson = JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'seq',
        layers: [
          {
            class_name: 'Dense',
            config: { name: 'dense', units: 1, batch_input_shape: [null, 2], use_bias: true },
          },
        ],
      },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'dense/kernel', shape: [2, 1], dtype: 'float32' },
          { name: 'dense/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  });
  return {
    modelJson,
    weights: new Uint8Array(new Float32Array([0.25, -0.5, 0.125]).buffer),
    preprocessing: { features: [{ mean: 1.5, scale: 2 }] },
  };
}

/** True when any 24-byte window of `needle` appears verbatim in `haystack`. */
function containsWindow(haystack: Buffer, needle: Buffer): boolean {
  for (let i = 0; i + 24 <= needle.length; i += 8) {
    if (haystack.includes(needle.subarray(i, i + 24))) return true;
  }
  return false;
}

describe('version artifacts: a trained version’s TF.js copy is stored like its artifact', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let store: FsObjectStore;
  let registry: ReturnType<typeof registryServices>;
  let artifacts: VersionArtifactsService;
  let tenantId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
    store = new FsObjectStore(`/tmp/maas-artifacts-${randomBytes(6).toString('hex')}`);
    const keys = new TenantDataKeys(prisma, master);
    registry = registryServices(prisma, store, keys);
    artifacts = registry.artifacts;
    tenantId = (await prisma.tenant.create({ data: { name: `t-${Date.now()}` } })).id;
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  const register = async (name: string) => {
    await registry.models.createModel(tenantId, { name });
    return registry.uploads.uploadVersion(tenantId, name, {
      format: 'onnx',
      body: Buffer.from(buildGemmModel({ weights: [[1], [2]], bias: [0] })),
      maxBytes: 1024 * 1024,
      createdBy: 'training-job:test',
    });
  };

  it('encrypts it, records its sha256 and size, counts it in the quota, serves it back', async () => {
    const version = await register('trained');
    const before = await registry.quota.storageUsed(tenantId);
    const files = tfjsCopy();
    await artifacts.attachTfjsCopy(tenantId, version.id, files);

    const row = await registry.versions.getVersion(tenantId, 'trained', version.number);
    expect(row.tfjsArtifactKey).toMatch(/\/versions\/1\/tfjs\.zip$/);
    const download = await artifacts.download(tenantId, 'trained', 1, 'tfjs');
    expect(download.sha256).toBe(row.tfjsSha256);
    expect(Number(row.tfjsSizeBytes)).toBe(download.bytes.length);
    expect(await registry.quota.storageUsed(tenantId)).toBe(before + download.bytes.length);

    // Nothing of the copy is in storage in clear: not the topology, not the weights.
    const stored = await store.getBuffer(row.tfjsArtifactKey!);
    expect(stored.includes(Buffer.from('modelTopology'))).toBe(false);
    expect(containsWindow(stored, Buffer.from(files.modelJson))).toBe(false);
    expect(stored.includes(Buffer.from(files.weights))).toBe(false);

    // The download is a TF.js archive the registry accepts, with the preprocessing beside it.
    const unpacked = unzipSync(download.bytes);
    expect(JSON.parse(strFromU8(unpacked['preprocessing.json']))).toEqual(files.preprocessing);
    const archive = await readTfjsArchive(download.bytes);
    expect(new Float32Array(archive.weightData)).toEqual(new Float32Array([0.25, -0.5, 0.125]));

    // The served artifact downloads too, as uploaded.
    const model = await artifacts.download(tenantId, 'trained', 1, 'model');
    expect(model.sha256).toBe(row.sha256);
  });

  it('refuses a tampered copy instead of handing it out', async () => {
    const version = await register('tampered');
    await artifacts.attachTfjsCopy(tenantId, version.id, tfjsCopy());
    const row = await registry.versions.getVersion(tenantId, 'tampered', 1);
    const stored = await store.getBuffer(row.tfjsArtifactKey!);
    stored[stored.length - 40] ^= 0xff;
    await store.put(row.tfjsArtifactKey!, stored);
    await expect(artifacts.download(tenantId, 'tampered', 1, 'tfjs')).rejects.toMatchObject({
      name: 'ArtifactIntegrityError',
    });
  });

  it('deletes it with its version, and 404s a version without one', async () => {
    const version = await register('deleted');
    await artifacts.attachTfjsCopy(tenantId, version.id, tfjsCopy());
    const key = (await registry.versions.getVersion(tenantId, 'deleted', 1)).tfjsArtifactKey!;
    expect(await store.exists(key)).toBe(true);
    await registry.versions.deleteVersion(tenantId, 'deleted', 1);
    expect(await store.exists(key)).toBe(false);

    await register('untrained');
    await expect(artifacts.download(tenantId, 'untrained', 1, 'tfjs')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // A foreign tenant's model is a missing one.
    const other = (await prisma.tenant.create({ data: { name: `o-${Date.now()}` } })).id;
    await expect(artifacts.download(other, 'untrained', 1, 'model')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('removes the copy again when it does not fit the storage quota', async () => {
    const quotaTenant = (await prisma.tenant.create({ data: { name: `q-${Date.now()}` } })).id;
    await registry.models.createModel(quotaTenant, { name: 'tight' });
    const onnx = Buffer.from(buildGemmModel({ weights: [[1], [2]], bias: [0] }));
    await prisma.tenantQuota.create({
      data: { tenantId: quotaTenant, storageBytes: BigInt(onnx.length + 10) },
    });
    const version = await registry.uploads.uploadVersion(quotaTenant, 'tight', {
      format: 'onnx',
      body: onnx,
      maxBytes: 1024 * 1024,
      createdBy: 'training-job:test',
    });
    await expect(
      artifacts.attachTfjsCopy(quotaTenant, version.id, tfjsCopy()),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/storage quota/),
    });
    const row = await registry.versions.getVersion(quotaTenant, 'tight', 1);
    expect(row).toMatchObject({ status: 'ready', tfjsArtifactKey: null, tfjsSizeBytes: null });
    expect(await registry.quota.storageUsed(quotaTenant)).toBe(onnx.length);
    expect(await store.list(`tenants/${quotaTenant}/`)).toHaveLength(1);
  });
});
