import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RegistryError } from './registry.errors.js';
import { failure, gemm, uploadOnnxVersion, useRegistryOnFs } from './registry.fixtures.js';

describe('storage quota', () => {
  const context = useRegistryOnFs('quota');

  it('holds uploads to the storage quota mid-stream and counts stored bytes', async () => {
    const { prisma, registry, tenantId } = context;
    const model = gemm();
    await prisma.tenantQuota.create({
      data: { tenantId, storageBytes: BigInt(model.length * 2 + 10), maxModels: 2 },
    });
    await registry.models.createModel(tenantId, { name: 'quota' });
    const upload = (body: Readable | Buffer) =>
      uploadOnnxVersion(registry, tenantId, 'quota', body);
    await upload(model);
    await upload(model);
    expect(await registry.quota.storageUsed(tenantId)).toBe(model.length * 2);
    const over = await failure(upload(Readable.from([model.subarray(0, 5), model.subarray(5)])));
    expect(over).toBeInstanceOf(RegistryError);
    expect(over).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((over as Error).message).toMatch(/storage quota exceeded/);
    // Deleting a version gives its bytes back.
    await registry.versions.deleteVersion(tenantId, 'quota', 1);
    expect((await upload(model)).status).toBe('ready');
  });
});
