import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PrismaService } from '@maas/db';
import { buildGemmModel, buildMlpModel, randomMlp } from '@maas/onnx';
import {
  buildTfjsArchive,
  createTestDatabase,
  startS3rver,
  type S3rverProcess,
  type TestDatabase,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactIntegrityError, ArtifactReader } from '../integrity/artifact-reader.js';
import type { MasterKey } from '../integrity/envelope.js';
import { rotateMasterKey, TenantDataKeys } from '../integrity/tenant-data-keys.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { S3ObjectStore } from '../storage/s3-object-store.js';
import { PayloadTooLargeError } from '../storage/storage-errors.js';
import { tenantPrefix } from '../storage/storage-keys.js';
import { InvalidModelError } from '../validation/validation-errors.js';
import {
  ModelRegistryService,
  pickServableVersion,
  type VersionSelector,
} from './model-registry.service.js';
import { RegistryError } from './registry.errors.js';

const MiB = 1024 * 1024;
const masterA: MasterKey = { id: 'key-a', key: randomBytes(32) };
const masterB: MasterKey = { id: 'key-b', key: randomBytes(32) };
const gemm = (bias = [0, 0, 0]) =>
  Buffer.from(
    buildGemmModel({
      weights: [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
        [10, 11, 12],
      ],
      bias,
    }),
  );

function endless(chunkSize = 64 * 1024): Readable {
  return new Readable({
    read() {
      this.push(Buffer.alloc(chunkSize, 7));
    },
  });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

let database: TestDatabase;
let prisma: PrismaService;
let s3: S3rverProcess;
const s3Stores: S3ObjectStore[] = [];

beforeAll(async () => {
  [database, s3] = await Promise.all([createTestDatabase(), startS3rver('registry-test')]);
  prisma = new PrismaService({ databaseUrl: database.url });
});

afterAll(async () => {
  s3Stores.forEach((store) => store.destroy());
  await prisma?.$disconnect();
  await Promise.all([database?.drop(), s3?.stop()]);
});

const drivers: [string, () => Promise<ObjectStore>][] = [
  ['fs', async () => new FsObjectStore(`/tmp/maas-registry-${randomBytes(6).toString('hex')}`)],
  [
    's3',
    async () => {
      const store = new S3ObjectStore({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        bucket: s3.bucket,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
      });
      s3Stores.push(store);
      return store;
    },
  ],
];

describe.each(drivers)('model registry on the %s store', (driver, createStore) => {
  let store: ObjectStore;
  let registry: ModelRegistryService;
  let tenantId: string;
  const actor = 'api-key:test';

  beforeAll(async () => {
    store = await createStore();
    registry = new ModelRegistryService(prisma, store, new TenantDataKeys(prisma, masterA));
    tenantId = (await prisma.tenant.create({ data: { name: `t-${driver}-${Date.now()}` } })).id;
  });

  const upload = (name: string, body: Readable | Buffer, extra: { maxBytes?: number } = {}) =>
    registry.uploadVersion(tenantId, name, {
      format: 'onnx',
      body,
      maxBytes: extra.maxBytes ?? 64 * MiB,
      createdBy: actor,
    });

  it('gives ten concurrent uploads ten distinct version numbers', async () => {
    await registry.createModel(tenantId, { name: 'concurrent' });
    const versions = await Promise.all(
      Array.from({ length: 10 }, (_, i) => upload('concurrent', gemm([i, 0, 0]))),
    );
    expect(versions.map((v) => v.number).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(versions.every((v) => v.status === 'ready')).toBe(true);
    expect(versions[0]).toMatchObject({ createdBy: actor, encrypted: true });
    // Each upload is validated in a child process of its own, one at a time (a niced child
    // starts in ~0.5 s, several on a loaded machine).
  }, 120_000);

  it('stops an oversize upload mid-stream: 413, a failed version, no partial object', async () => {
    await registry.createModel(tenantId, { name: 'big' });
    const error = await failure(upload('big', endless(), { maxBytes: MiB }));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(
      await store.list(
        tenantPrefix(tenantId) + 'models/' + (await registry.getModel(tenantId, 'big')).id,
      ),
    ).toEqual([]);
    const [version] = await registry.listVersions(tenantId, 'big');
    expect(version).toMatchObject({ number: 1, status: 'failed' });
    expect(version.statusReason).toMatch(/exceeds/);
  });

  it('rejects garbage and truncated ONNX with a failed version, its reason, and no bytes', async () => {
    const model = await registry.createModel(tenantId, { name: 'garbage' });
    const mlp = Buffer.from(buildMlpModel({ layers: randomMlp([32, 16, 4], 1) }));
    for (const bytes of [Buffer.from('definitely not onnx'), mlp.subarray(0, mlp.length / 2)]) {
      expect(await failure(upload('garbage', bytes))).toBeInstanceOf(InvalidModelError);
    }
    expect(await failure(upload('garbage', Buffer.alloc(0)))).toBeInstanceOf(InvalidModelError);
    const versions = await registry.listVersions(tenantId, 'garbage');
    expect(versions.map((v) => [v.number, v.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(versions[0].statusReason).toMatch(/not a loadable ONNX model/);
    expect(await store.list(`${tenantPrefix(tenantId)}models/${model.id}`)).toEqual([]);
  });

  it('stores artifacts encrypted: the bytes in storage do not contain the plaintext', async () => {
    await registry.createModel(tenantId, { name: 'secret' });
    const plaintext = gemm([42, 43, 44]);
    const version = await upload('secret', plaintext);
    const stored = await store.getBuffer(version.artifactKey);
    expect(stored.length).toBeGreaterThan(plaintext.length);
    // Any 32-byte window of the plaintext would show up verbatim if it were stored in clear.
    for (let offset = 0; offset + 32 <= plaintext.length; offset += 32) {
      expect(stored.includes(plaintext.subarray(offset, offset + 32))).toBe(false);
    }
    expect(await registry.artifacts.read(version)).toEqual(plaintext);
    expect(version.sizeBytes).toBe(BigInt(plaintext.length));
  });

  it('detects tampered bytes on load', async () => {
    await registry.createModel(tenantId, { name: 'tamper' });
    const version = await upload('tamper', gemm());
    const stored = await store.getBuffer(version.artifactKey);
    stored[Math.floor(stored.length / 2)] ^= 0x01;
    await store.put(version.artifactKey, stored);
    const error = await failure(registry.artifacts.read(version));
    expect(error).toBeInstanceOf(ArtifactIntegrityError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('accepts a TF.js zip and tar.gz, reading their signature; rejects a missing shard', async () => {
    const model = await registry.createModel(tenantId, { name: 'tfjs' });
    for (const kind of ['zip', 'tar.gz'] as const) {
      const version = await registry.uploadVersion(tenantId, 'tfjs', {
        format: 'tfjs',
        body: await buildTfjsArchive({ kind }),
        maxBytes: 64 * MiB,
        createdBy: actor,
      });
      expect(version.status).toBe('ready');
      expect(version.artifactKey.endsWith(kind === 'zip' ? '/model.zip' : '/model.tar.gz')).toBe(
        true,
      );
      expect(version.inputs).toEqual([{ name: 'dense_input', datatype: 'FP32', shape: [-1, 4] }]);
      expect(version.outputs).toEqual([{ name: 'dense', datatype: 'FP32', shape: [-1, 3] }]);
    }
    const missing = await failure(
      registry.uploadVersion(tenantId, 'tfjs', {
        format: 'tfjs',
        body: await buildTfjsArchive({ dropShard: true }),
        maxBytes: 64 * MiB,
        createdBy: actor,
      }),
    );
    expect(missing).toBeInstanceOf(InvalidModelError);
    expect((missing as Error).message).toMatch(/group1-shard1of1\.bin.*missing/);
    expect(
      (await store.list(`${tenantPrefix(tenantId)}models/${model.id}`)).map((k) =>
        k.split('/').slice(-3).join('/'),
      ),
    ).toEqual(['versions/1/model.zip', 'versions/2/model.tar.gz']);
  });

  it('removes bytes when a version, a model and a tenant are deleted', async () => {
    const model = await registry.createModel(tenantId, { name: 'doomed' });
    await upload('doomed', gemm());
    await upload('doomed', gemm([1, 1, 1]));
    const modelKeys = () => store.list(`${tenantPrefix(tenantId)}models/${model.id}`);
    expect(await modelKeys()).toHaveLength(2);

    const archived = await registry.deleteVersion(tenantId, 'doomed', 1);
    expect(archived.status).toBe('archived');
    expect((await modelKeys()).map((k) => k.split('/').slice(-3, -1).join('/'))).toEqual([
      'versions/2',
    ]);
    expect(
      await failure(registry.resolveVersion(tenantId, 'doomed', { version: 1 })),
    ).toMatchObject({ code: 'NOT_FOUND' });

    await registry.deleteModel(tenantId, 'doomed');
    expect(await modelKeys()).toEqual([]);
    expect(await failure(registry.resolveVersion(tenantId, 'doomed', {}))).toMatchObject({
      code: 'NOT_FOUND',
    });
    // The name is free again at once, numbering starts over.
    await registry.createModel(tenantId, { name: 'doomed' });
    expect((await upload('doomed', gemm())).number).toBe(1);

    expect((await store.list(tenantPrefix(tenantId))).length).toBeGreaterThan(0);
    await registry.purgeTenant(tenantId);
    expect(await store.list(tenantPrefix(tenantId))).toEqual([]);
  });
});

describe('tenant limits, master key rotation', () => {
  let store: FsObjectStore;
  let registry: ModelRegistryService;
  let tenantId: string;

  beforeAll(async () => {
    store = new FsObjectStore(`/tmp/maas-registry-${randomBytes(6).toString('hex')}`);
    registry = new ModelRegistryService(prisma, store, new TenantDataKeys(prisma, masterA));
    tenantId = (await prisma.tenant.create({ data: { name: `limits-${Date.now()}` } })).id;
  });

  it('holds uploads to the storage quota mid-stream and counts stored bytes', async () => {
    const model = gemm();
    await prisma.tenantQuota.create({
      data: { tenantId, storageBytes: BigInt(model.length * 2 + 10), maxModels: 2 },
    });
    await registry.createModel(tenantId, { name: 'quota' });
    const upload = (body: Readable | Buffer) =>
      registry.uploadVersion(tenantId, 'quota', {
        format: 'onnx',
        body,
        maxBytes: 64 * MiB,
        createdBy: 'user:1',
      });
    await upload(model);
    await upload(model);
    expect(await registry.storageUsed(tenantId)).toBe(model.length * 2);
    const over = await failure(upload(Readable.from([model.subarray(0, 5), model.subarray(5)])));
    expect(over).toBeInstanceOf(RegistryError);
    expect(over).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((over as Error).message).toMatch(/storage quota exceeded/);
    // Deleting a version gives its bytes back.
    await registry.deleteVersion(tenantId, 'quota', 1);
    expect((await upload(model)).status).toBe('ready');
  });

  it('refuses a model past the tenant’s maxModels, also when created concurrently', async () => {
    const results = await Promise.allSettled(
      ['m1', 'm2', 'm3'].map((name) => registry.createModel(tenantId, { name })),
    );
    // 'quota' already exists and the limit is 2: exactly one of the three fits.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
  });

  it('resolves labels, production by default, and splits 90/10 within ±5% over 2,000', async () => {
    await prisma.tenantQuota.deleteMany({ where: { tenantId } });
    await registry.createModel(tenantId, { name: 'canary' });
    for (let i = 0; i < 3; i++) {
      await registry.uploadVersion(tenantId, 'canary', {
        format: 'onnx',
        body: gemm([i, 0, 0]),
        maxBytes: 64 * MiB,
        createdBy: 'user:1',
      });
    }
    expect((await registry.resolveVersion(tenantId, 'canary', {})).version.number).toBe(3);
    await registry.setLabel(tenantId, 'canary', 'production', { '1': 100 });
    expect((await registry.resolveVersion(tenantId, 'canary', {})).version.number).toBe(1);
    await registry.setLabel(tenantId, 'canary', 'staging', { '2': 1 });
    expect(
      (await registry.resolveVersion(tenantId, 'canary', { label: 'staging' })).version.number,
    ).toBe(2);
    const view = await registry.setLabel(tenantId, 'canary', 'production', { '2': 90, '3': 10 });
    expect(view).toEqual({ name: 'production', versions: { '2': 90, '3': 10 } });
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const { version } = await registry.resolveVersion(tenantId, 'canary', {});
      counts.set(version.number, (counts.get(version.number) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([2, 3]);
    expect(Math.abs(counts.get(2)! / 2000 - 0.9)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(counts.get(3)! / 2000 - 0.1)).toBeLessThanOrEqual(0.05);

    // Only ready versions can be targets; a labelled version cannot be deleted.
    expect(
      await failure(registry.setLabel(tenantId, 'canary', 'bad name', { '1': 1 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await failure(registry.setLabel(tenantId, 'canary', 'x', { '9': 1 }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await failure(registry.deleteVersion(tenantId, 'canary', 3))).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    await registry.deleteLabel(tenantId, 'canary', 'production');
    expect((await registry.resolveVersion(tenantId, 'canary', {})).version.number).toBe(3);
  }, 90_000);

  it('quarantines a version: resolved as before but never served, until superseded or released', async () => {
    const upload = (name: string, body: Buffer) =>
      registry.uploadVersion(tenantId, name, {
        format: 'onnx',
        body,
        maxBytes: 64 * MiB,
        createdBy: 'user:1',
      });
    await registry.createModel(tenantId, { name: 'crasher' });
    const v1 = await upload('crasher', gemm());
    const v2 = await upload('crasher', gemm([1, 1, 1]));
    await registry.setLabel(tenantId, 'crasher', 'production', { '1': 50, '2': 50 });
    const served = async (selector: VersionSelector) => {
      try {
        return pickServableVersion(await registry.resolveCandidates(tenantId, 'crasher', selector))
          .version.number;
      } catch (error) {
        return error as RegistryError;
      }
    };
    const reason = 'its requests stopped workers 3 times within 10 minutes; ask an admin';
    const storedBefore = await registry.storageUsed(tenantId);
    expect(await registry.quarantineVersion(tenantId, v1.id, reason)).toBe(true);
    expect(await registry.quarantineVersion(tenantId, v1.id, 'again')).toBe(false);
    expect(await registry.getVersion(tenantId, 'crasher', 1)).toMatchObject({
      status: 'quarantined',
      statusReason: reason,
    });
    expect(await registry.storageUsed(tenantId)).toBe(storedBefore); // its bytes still count
    // The split drops it while the label has a ready target.
    for (let i = 0; i < 20; i++) expect(await served({})).toBe(2);
    const named = await served({ version: 1 });
    expect(named).toMatchObject({ code: 'UNAVAILABLE' });
    expect((named as Error).message).toBe(`version 1 of model 'crasher' is quarantined: ${reason}`);
    // Nothing ready left behind the label: its requests answer the reason, not another version.
    await registry.quarantineVersion(tenantId, v2.id, reason);
    expect(await served({})).toMatchObject({ code: 'UNAVAILABLE' });
    await registry.deleteLabel(tenantId, 'crasher', 'production');
    expect(await served({})).toMatchObject({ code: 'UNAVAILABLE' }); // the newest, quarantined
    expect(
      await failure(registry.setLabel(tenantId, 'crasher', 'production', { '1': 1 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
    // A new version serves by default; the quarantined ones still answer their reason.
    await upload('crasher', gemm([2, 2, 2]));
    expect(await served({})).toBe(3);
    expect(await served({ version: 2 })).toMatchObject({ code: 'UNAVAILABLE' });
    // Released by an admin: ready again; releasing a ready version changes nothing.
    const released = await registry.releaseQuarantine(tenantId, 'crasher', 2);
    expect(released).toMatchObject({ status: 'ready', statusReason: null });
    expect(await served({ version: 2 })).toBe(2);
    expect((await registry.releaseQuarantine(tenantId, 'crasher', 2)).status).toBe('ready');
    await registry.deleteVersion(tenantId, 'crasher', 3);
    expect(await failure(registry.releaseQuarantine(tenantId, 'crasher', 3))).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  }, 60_000);

  it('sweeps what a crash left behind: stuck uploads, leftover bytes, deleted models', async () => {
    const upload = (name: string, bias: number[]) =>
      registry.uploadVersion(tenantId, name, {
        format: 'onnx',
        body: gemm(bias),
        maxBytes: 64 * MiB,
        createdBy: 'user:1',
      });
    const crashy = await registry.createModel(tenantId, { name: 'crashy' });
    const archived = await upload('crashy', [1, 0, 0]);
    const stuck = await upload('crashy', [2, 0, 0]);
    const kept = await upload('crashy', [3, 0, 0]);
    // Archived, but the process died before its bytes went.
    await prisma.modelVersion.update({ where: { id: archived.id }, data: { status: 'archived' } });
    // A gateway died mid-upload two hours ago.
    await prisma.modelVersion.update({ where: { id: stuck.id }, data: { status: 'uploading' } });
    await prisma.$executeRaw`UPDATE model_versions SET updated_at = now() - interval '2 hours' WHERE id = ${stuck.id}::uuid`;
    // Soft-deleted, bytes never removed.
    const gone = await registry.createModel(tenantId, { name: 'gone' });
    await upload('gone', [0, 0, 0]);
    await prisma.model.update({
      where: { id: gone.id },
      data: { deletedAt: new Date(), name: `gone~deleted~${gone.id}` },
    });

    const result = await registry.sweepDeletedArtifacts();
    expect(result.interruptedUploads).toBe(1);
    expect(result.purgedModels).toBeGreaterThanOrEqual(1);
    expect(await store.list(`${tenantPrefix(tenantId)}models/${crashy.id}`)).toEqual([
      kept.artifactKey,
    ]);
    expect(await store.list(`${tenantPrefix(tenantId)}models/${gone.id}`)).toEqual([]);
    expect(await prisma.model.findUnique({ where: { id: gone.id } })).toBeNull();
    expect(await registry.getVersion(tenantId, 'crashy', stuck.number)).toMatchObject({
      status: 'failed',
      statusReason: 'upload interrupted',
    });
  });

  it('re-wraps data keys under a new master key; artifacts still load, without rewriting them', async () => {
    await prisma.tenantQuota.deleteMany({ where: { tenantId } });
    await registry.createModel(tenantId, { name: 'rotated' });
    const version = await registry.uploadVersion(tenantId, 'rotated', {
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

describe('names no model can have', () => {
  it('are missing (404) without a query: a NUL byte in a URL never reaches Postgres', async () => {
    const store = new FsObjectStore(`/tmp/maas-registry-${randomBytes(6).toString('hex')}`);
    const registry = new ModelRegistryService(prisma, store, new TenantDataKeys(prisma, masterA));
    const tenantId = (await prisma.tenant.create({ data: { name: `t-names-${Date.now()}` } })).id;
    for (const name of ['\u0000', 'a\u0000b', 'line\nbreak', 'UPPER', '', 'x'.repeat(64)]) {
      expect(await failure(registry.getModel(tenantId, name))).toMatchObject({
        code: 'NOT_FOUND',
        message: `model '${name}' not found`,
      });
      for (const selector of [{}, { version: 1 }, { label: 'production' }]) {
        expect(await failure(registry.resolveCandidates(tenantId, name, selector))).toBeInstanceOf(
          RegistryError,
        );
      }
      expect(await failure(registry.deleteModel(tenantId, name))).toMatchObject({
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
