// Test-only: the registry's services wired by hand (as ModelRegistryModule wires them), the
// stores its specs run on, and the small model and helpers they share.
import { randomBytes } from 'node:crypto';
import type { PrismaService } from '@maas/db';
import { buildGemmModel } from '@maas/onnx';
import { ArtifactReader } from '../integrity/artifact-reader.js';
import type { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { S3ObjectStore } from '../storage/s3-object-store.js';
import { ModelVersionsService } from './model-versions.service.js';
import { ModelsService } from './models.service.js';
import { RegistryMaintenanceService } from './registry-maintenance.service.js';
import { StorageQuotaService } from './storage-quota.service.js';
import { VersionArtifactsService } from './version-artifacts.service.js';
import { VersionLabelsService } from './version-labels.service.js';
import { VersionResolutionService } from './version-resolution.service.js';
import { type ModelUploadOptions, VersionUploadsService } from './version-uploads.service.js';

export const MiB = 1024 * 1024;

export function registryServices(
  prisma: PrismaService,
  store: ObjectStore,
  dataKeys: TenantDataKeys,
  uploadOptions: ModelUploadOptions = {},
) {
  const reader = new ArtifactReader(store, dataKeys);
  const models = new ModelsService(prisma, store);
  const versions = new ModelVersionsService(prisma, models, store);
  const quota = new StorageQuotaService(prisma);
  return {
    reader,
    models,
    versions,
    quota,
    uploads: new VersionUploadsService(prisma, models, quota, store, dataKeys, uploadOptions),
    labels: new VersionLabelsService(prisma, models),
    resolution: new VersionResolutionService(prisma, models),
    maintenance: new RegistryMaintenanceService(prisma, store, dataKeys),
    artifacts: new VersionArtifactsService(prisma, versions, quota, reader, store, dataKeys),
  };
}

/** A filesystem store in a fresh temp directory. */
export const tempFsStore = () =>
  new FsObjectStore(`/tmp/maas-registry-${randomBytes(6).toString('hex')}`);

/**
 * The stores a spec runs on: the filesystem and S3 (the spec's s3rver, once started). The S3
 * stores it creates are added to `created`, for the spec to destroy.
 */
export function storeDrivers(
  s3: () => { endpoint: string; bucket: string },
  created: S3ObjectStore[],
): [string, () => Promise<ObjectStore>][] {
  return [
    ['fs', async () => tempFsStore()],
    [
      's3',
      async () => {
        const store = new S3ObjectStore({
          endpoint: s3().endpoint,
          region: 'us-east-1',
          bucket: s3().bucket,
          accessKeyId: 'S3RVER',
          secretAccessKey: 'S3RVER',
        });
        created.push(store);
        return store;
      },
    ],
  ];
}

/** A small valid ONNX model (Gemm 4 → 3); the bias makes each one's bytes differ. */
export const gemm = (bias = [0, 0, 0]) =>
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

/** The error a promise rejects with (fails when it resolves). */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
