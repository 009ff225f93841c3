import { createHash } from 'node:crypto';
import { masterKeyFrom } from '@maas/config';
import type { PrismaService } from '@maas/db';
import {
  TenantDataKeys,
  createObjectStore,
  encryptBuffer,
  modelArtifactKey,
} from '@maas/model-registry';
import type { TestPlatform } from '@maas/testing';

// A type alias, not an interface: Prisma's JSON input type takes only the former.
type TensorSignature = { name: string; datatype: string; shape: number[] };

/**
 * Version `number` of an existing model as if stored before the platform's checks existed:
 * bytes written as the registry writes them (encrypted under the tenant's data key, sha256 of
 * the plaintext recorded), row ready. `tamper` flips a ciphertext byte afterwards (the bytes
 * then fail their integrity check). Returns the version's row.
 */
export async function plantReadyVersion(
  platform: TestPlatform,
  prisma: PrismaService,
  planted: {
    tenantId: string;
    model: string;
    number: number;
    plaintext: Buffer;
    inputs: TensorSignature[];
    outputs: TensorSignature[];
    tamper?: boolean;
  },
) {
  const { tenantId, number, plaintext } = planted;
  const model = await prisma.model.findFirstOrThrow({ where: { tenantId, name: planted.model } });
  const artifactKey = modelArtifactKey(tenantId, model.id, number, 'model.onnx');
  const dataKeys = new TenantDataKeys(prisma, masterKeyFrom({ NODE_ENV: 'development' }));
  const sealed = encryptBuffer(plaintext, await dataKeys.forTenant(tenantId), artifactKey);
  if (planted.tamper) sealed[sealed.length - 20]! ^= 0xff;
  await createObjectStore({ driver: 'fs', root: platform.storageRoot }).put(artifactKey, sealed);
  await prisma.model.update({ where: { id: model.id }, data: { nextVersion: number + 1 } });
  return prisma.modelVersion.create({
    data: {
      tenantId,
      modelId: model.id,
      number,
      format: 'onnx',
      artifactKey,
      status: 'ready',
      encrypted: true,
      sha256: createHash('sha256').update(plaintext).digest('hex'),
      sizeBytes: BigInt(plaintext.length),
      inputs: planted.inputs,
      outputs: planted.outputs,
      createdBy: 'test:planted',
    },
  });
}
