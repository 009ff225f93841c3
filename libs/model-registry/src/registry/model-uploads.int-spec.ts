import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { PrismaService } from '@maas/db';
import { buildGemmModel, buildLargeAddModel } from '@maas/onnx';
import { gzipBomb, useTestDatabase } from '@maas/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { tenantPrefix } from '../storage/storage-keys.js';
import { ValidationLimitError } from '../validation/validation-errors.js';
import { RegistryError } from './registry.errors.js';
import { registryServices } from './registry.fixtures.js';
import { UploadSlots } from './upload-slots.js';
import type { ModelUploadOptions } from './version-uploads.service.js';

const MiB = 1024 * 1024;

/** A real filesystem store that counts whole-object reads (uploads must not read back). */
class CountingStore extends FsObjectStore {
  bufferReads = 0;
  override getBuffer(key: string): Promise<Buffer> {
    this.bufferReads += 1;
    return super.getBuffer(key);
  }
}

const bigOnnx = (mib: number) => Buffer.from(buildLargeAddModel(mib, 3));

const gemm = Buffer.from(buildGemmModel({ weights: [[1, 2]], bias: [0, 0] }));

/** Our scratch directories in the temp dir (there are none once an upload has ended). */
const scratchDirs = () =>
  readdirSync(tmpdir()).filter((name) => name.startsWith(`maas-validate-${process.pid}-`));

const db = useTestDatabase((url) => new PrismaService({ databaseUrl: url }));
let prisma: PrismaService;

beforeAll(() => {
  prisma = db.client;
});

async function setUp(options: ModelUploadOptions) {
  const store = new CountingStore(`/tmp/maas-uploads-${randomBytes(6).toString('hex')}`);
  const registry = registryServices(
    prisma,
    store,
    new TenantDataKeys(prisma, { id: 'k', key: randomBytes(32) }),
    options,
  );
  const tenantId = (
    await prisma.tenant.create({ data: { name: `u-${randomBytes(4).toString('hex')}` } })
  ).id;
  await registry.models.createModel(tenantId, { name: 'm' });
  const upload = (body: Readable | Buffer, format: 'onnx' | 'tfjs' = 'onnx') =>
    registry.uploads.uploadVersion(tenantId, 'm', {
      format,
      body,
      maxBytes: 256 * MiB,
      createdBy: 't',
    });
  return { store, registry, tenantId, upload };
}

describe('model uploads: streamed, validated in a sandbox, bounded', () => {
  it('validates from the streamed plaintext copy, never reading the artifact back, and removes the copy', async () => {
    const { store, upload } = await setUp({});
    const version = await upload(Readable.from([gemm.subarray(0, 10), gemm.subarray(10)]));
    expect(version.status).toBe('ready');
    expect(version.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 1] }]);
    expect(store.bufferReads).toBe(0);
    expect(scratchDirs()).toEqual([]);
  });

  it('refuses a model that needs more memory than the validator has: 422, failed version, no bytes, no copy', async () => {
    const { store, registry, tenantId, upload } = await setUp({
      validation: { memoryLimitBytes: 160 * MiB },
    });
    const error = await upload(bigOnnx(64)).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect((error as Error).message).toBe(
      'the model needs more than 160 MiB of memory to validate',
    );
    const [version] = await registry.versions.listVersions(tenantId, 'm');
    expect(version).toMatchObject({ status: 'failed', statusReason: (error as Error).message });
    expect(await store.list(tenantPrefix(tenantId))).toEqual([]);
    expect(scratchDirs()).toEqual([]);
  });

  it('refuses a TF.js decompression bomb with the configured unpack limit (422)', async () => {
    const { upload } = await setUp({
      validation: { unpack: { maxRatio: 10, maxBytes: 64 * MiB } },
    });
    const error = await upload(gzipBomb(1024 * MiB), 'tfjs').catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect((error as Error).message).toMatch(/archives may unpack to 10× their compressed size/);
    expect(scratchDirs()).toEqual([]);
  });

  it('takes at most N uploads at once, and per tenant fewer: 429 past either, nothing taken', async () => {
    const { registry, tenantId, upload } = await setUp({ maxInFlight: 3, maxInFlightPerTenant: 1 });
    // An upload whose body is still arriving holds its slot.
    const slow = new Readable({ read() {} });
    slow.push(gemm.subarray(0, 10));
    const first = upload(slow);
    await new Promise((r) => setTimeout(r, 100));
    const second = await upload(gemm).catch((e: unknown) => e as RegistryError);
    expect(second).toBeInstanceOf(RegistryError);
    expect((second as RegistryError).code).toBe('RESOURCE_EXHAUSTED');
    expect((second as Error).message).toMatch(/already has 1 model uploads in progress/);
    slow.push(gemm.subarray(10));
    slow.push(null);
    expect((await first).status).toBe('ready');
    // The refused upload took no version number.
    expect((await registry.versions.listVersions(tenantId, 'm')).map((v) => v.number)).toEqual([1]);
    expect((await upload(gemm)).number).toBe(2);

    // The process-wide bound, across tenants; a slot given back twice counts once.
    const slots = new UploadSlots(2, 1);
    const release = slots.take('a');
    slots.take('b');
    expect(() => slots.take('c')).toThrow(/taking 2 model uploads already/);
    release();
    release();
    slots.take('c');
    expect(() => slots.take('d')).toThrow(RegistryError);
  });
});
