// Test-only: the registry's services wired by hand (as ModelRegistryModule wires them), the
// stores its specs run on, and the small model and helpers they share.
import { randomBytes } from 'node:crypto';
import { PrismaService } from '@maas/db';
import { buildGemmModel } from '@maas/onnx';
import {
  createTestDatabase,
  startS3rver,
  type S3rverProcess,
  type TestDatabase,
  useTestDatabase,
} from '@maas/testing';
import { afterAll, beforeAll } from 'vitest';
import { ArtifactReader } from '../integrity/artifact-reader.js';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
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
import {
  type ModelUploadOptions,
  type VersionUpload,
  VersionUploadsService,
} from './version-uploads.service.js';

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

export type RegistryServices = ReturnType<typeof registryServices>;

/**
 * The setup most registry specs share: a database of their own, the services on a temp
 * filesystem store with a fresh master key, and one tenant (`<label>-<time>`). Registers the
 * spec's hooks; read the context inside tests and later hooks.
 */
export function useRegistryOnFs(label: string): {
  readonly prisma: PrismaService;
  readonly registry: RegistryServices;
  readonly tenantId: string;
} {
  const db = useTestDatabase((url) => new PrismaService({ databaseUrl: url }));
  const context = {} as { prisma: PrismaService; registry: RegistryServices; tenantId: string };
  beforeAll(async () => {
    const prisma = db.client;
    const keys = new TenantDataKeys(prisma, { id: 'key-a', key: randomBytes(32) });
    context.prisma = prisma;
    context.registry = registryServices(prisma, tempFsStore(), keys);
    context.tenantId = (
      await prisma.tenant.create({ data: { name: `${label}-${Date.now()}` } })
    ).id;
  });
  return context;
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

/**
 * The setup of specs that run on both stores: a database of their own and an s3rver, started
 * together before the file's tests and stopped after them. `drivers` are `storeDrivers` on
 * them, for `describe.each`; read `prisma` inside tests and hooks.
 */
export function useRegistryStores(): {
  readonly prisma: PrismaService;
  readonly drivers: [string, () => Promise<ObjectStore>][];
} {
  let database: TestDatabase | undefined;
  let s3: S3rverProcess | undefined;
  let prisma: PrismaService | undefined;
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
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useRegistryStores: read before its beforeAll ran');
    return value;
  };
  return {
    get prisma() {
      return ready(prisma);
    },
    drivers: storeDrivers(() => ready(s3), s3Stores),
  };
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

/** Uploads `body` as the next ONNX version of model `name` (up to 64 MiB), made by `createdBy`. */
export const uploadOnnxVersion = (
  registry: RegistryServices,
  tenantId: string,
  name: string,
  body: VersionUpload['body'],
  createdBy = 'user:1',
) =>
  registry.uploads.uploadVersion(tenantId, name, {
    format: 'onnx',
    body,
    maxBytes: 64 * MiB,
    createdBy,
  });

/** The error a promise rejects with (fails when it resolves). */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
