import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buildMlpModel, randomMlp } from '@maas/onnx';
import { buildTfjsArchive } from '@maas/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactIntegrityError } from '../integrity/artifact-reader.js';
import type { MasterKey } from '../integrity/envelope.js';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { PayloadTooLargeError } from '../storage/storage-errors.js';
import { tenantPrefix } from '../storage/storage-keys.js';
import { InvalidModelError } from '../validation/validation-errors.js';
import { failure, gemm, MiB, registryServices, useRegistryStores } from './registry.fixtures.js';

const masterA: MasterKey = { id: 'key-a', key: randomBytes(32) };

function endless(chunkSize = 64 * 1024): Readable {
  return new Readable({
    read() {
      this.push(Buffer.alloc(chunkSize, 7));
    },
  });
}

const shared = useRegistryStores();

describe.each(shared.drivers)('version uploads on the %s store', (driver, createStore) => {
  let store: ObjectStore;
  let registry: ReturnType<typeof registryServices>;
  let tenantId: string;
  const actor = 'api-key:test';

  beforeAll(async () => {
    const { prisma } = shared;
    store = await createStore();
    registry = registryServices(prisma, store, new TenantDataKeys(prisma, masterA));
    tenantId = (await prisma.tenant.create({ data: { name: `t-${driver}-${Date.now()}` } })).id;
  });

  const upload = (name: string, body: Readable | Buffer, extra: { maxBytes?: number } = {}) =>
    registry.uploads.uploadVersion(tenantId, name, {
      format: 'onnx',
      body,
      maxBytes: extra.maxBytes ?? 64 * MiB,
      createdBy: actor,
    });

  it('gives ten concurrent uploads ten distinct version numbers', async () => {
    await registry.models.createModel(tenantId, { name: 'concurrent' });
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
    await registry.models.createModel(tenantId, { name: 'big' });
    const error = await failure(upload('big', endless(), { maxBytes: MiB }));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(
      await store.list(
        tenantPrefix(tenantId) + 'models/' + (await registry.models.getModel(tenantId, 'big')).id,
      ),
    ).toEqual([]);
    const [version] = await registry.versions.listVersions(tenantId, 'big');
    expect(version).toMatchObject({ number: 1, status: 'failed' });
    expect(version.statusReason).toMatch(/exceeds/);
  });

  it('rejects garbage and truncated ONNX with a failed version, its reason, and no bytes', async () => {
    const model = await registry.models.createModel(tenantId, { name: 'garbage' });
    const mlp = Buffer.from(buildMlpModel({ layers: randomMlp([32, 16, 4], 1) }));
    for (const bytes of [Buffer.from('definitely not onnx'), mlp.subarray(0, mlp.length / 2)]) {
      expect(await failure(upload('garbage', bytes))).toBeInstanceOf(InvalidModelError);
    }
    expect(await failure(upload('garbage', Buffer.alloc(0)))).toBeInstanceOf(InvalidModelError);
    const versions = await registry.versions.listVersions(tenantId, 'garbage');
    expect(versions.map((v) => [v.number, v.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(versions[0].statusReason).toMatch(/not a loadable ONNX model/);
    expect(await store.list(`${tenantPrefix(tenantId)}models/${model.id}`)).toEqual([]);
  });

  it('stores artifacts encrypted: the bytes in storage do not contain the plaintext', async () => {
    await registry.models.createModel(tenantId, { name: 'secret' });
    const plaintext = gemm([42, 43, 44]);
    const version = await upload('secret', plaintext);
    const stored = await store.getBuffer(version.artifactKey);
    expect(stored.length).toBeGreaterThan(plaintext.length);
    // Any 32-byte window of the plaintext would show up verbatim if it were stored in clear.
    for (let offset = 0; offset + 32 <= plaintext.length; offset += 32) {
      expect(stored.includes(plaintext.subarray(offset, offset + 32))).toBe(false);
    }
    expect(await registry.reader.read(version)).toEqual(plaintext);
    expect(version.sizeBytes).toBe(BigInt(plaintext.length));
  });

  it('detects tampered bytes on load', async () => {
    await registry.models.createModel(tenantId, { name: 'tamper' });
    const version = await upload('tamper', gemm());
    const stored = await store.getBuffer(version.artifactKey);
    stored[Math.floor(stored.length / 2)] ^= 0x01;
    await store.put(version.artifactKey, stored);
    const error = await failure(registry.reader.read(version));
    expect(error).toBeInstanceOf(ArtifactIntegrityError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('accepts a TF.js zip and tar.gz, reading their signature; rejects a missing shard', async () => {
    const model = await registry.models.createModel(tenantId, { name: 'tfjs' });
    for (const kind of ['zip', 'tar.gz'] as const) {
      const version = await registry.uploads.uploadVersion(tenantId, 'tfjs', {
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
      registry.uploads.uploadVersion(tenantId, 'tfjs', {
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
});
