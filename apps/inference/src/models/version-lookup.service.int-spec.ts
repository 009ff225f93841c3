import { createHash, randomUUID } from 'node:crypto';
import { createLogger } from '@maas/app-runtime';
import { type ModelVersion, PrismaService } from '@maas/db';
import { S3ObjectStore } from '@maas/model-registry';
import { buildGemmModel } from '@maas/onnx';
import {
  createTestDatabase,
  startS3rver,
  type S3rverProcess,
  type TestDatabase,
} from '@maas/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InferenceConfig, inferenceConfigSchema } from '../config/inference-config.js';
import { InferenceMetrics } from '../inference/inference.metrics.js';
import { ModelCacheService } from './model-cache.service.js';
import { VersionLookupService } from './version-lookup.service.js';

const artifact = Buffer.from(
  buildGemmModel({
    weights: [
      [1, 0],
      [0, 1],
    ],
    bias: [0, 0],
  }),
);

// Real Postgres rows, a real S3 store (s3rver): when a version may be marked corrupt.
describe('marking a version corrupt', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  let s3: S3rverProcess;
  let store: S3ObjectStore;
  let versions: VersionLookupService;
  let metrics: InferenceMetrics;
  let cache: ModelCacheService;
  let tenantId: string;
  let modelId: string;
  let nextNumber = 1;
  let s3Stopped = false;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(), startS3rver('corrupt-spec')]);
    prisma = new PrismaService({ databaseUrl: database.url });
    store = new S3ObjectStore({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: s3.bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    const config: InferenceConfig = { ...inferenceConfigSchema.parse({}), ORT_INTRA_OP_THREADS: 1 };
    versions = new VersionLookupService(prisma, config);
    metrics = new InferenceMetrics(new Registry());
    cache = new ModelCacheService(
      store,
      config,
      createLogger({ name: 'corrupt-spec', level: 'silent' }),
      versions,
      metrics,
      prisma,
    );
    tenantId = (await prisma.tenant.create({ data: { name: `t-${randomUUID()}` } })).id;
    modelId = (await prisma.model.create({ data: { tenantId, name: 'linear' } })).id;
  });

  afterAll(async () => {
    await cache?.onModuleDestroy();
    store?.destroy();
    await prisma?.$disconnect();
    await Promise.all([database?.drop(), s3Stopped ? undefined : s3?.stop()]);
  });

  /** A version row (unencrypted artifact) whose stored bytes are `bytes`. */
  async function version(status: 'ready' | 'archived', bytes = artifact): Promise<ModelVersion> {
    const number = nextNumber++;
    const artifactKey = `spec/${modelId}/${number}/model.onnx`;
    await store.put(artifactKey, bytes);
    return prisma.modelVersion.create({
      data: {
        tenantId,
        modelId,
        number,
        format: 'onnx',
        artifactKey,
        status,
        sha256: createHash('sha256').update(artifact).digest('hex'),
        sizeBytes: BigInt(artifact.length),
        encrypted: false,
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
      },
    });
  }
  const statusOf = async (row: ModelVersion) =>
    (await prisma.modelVersion.findUniqueOrThrow({ where: { id: row.id } })).status;
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error as { code?: string; message: string },
    );
  const integrityFailures = async () =>
    (await metrics.integrityFailures.get()).values[0]?.value ?? 0;

  it('marks only a version that is still ready', async () => {
    const ready = await version('ready');
    expect(await versions.markCorrupt(ready, 'sha256 mismatch')).toBe(true);
    expect(await prisma.modelVersion.findUniqueOrThrow({ where: { id: ready.id } })).toMatchObject({
      status: 'corrupt',
      statusReason: 'sha256 mismatch',
    });
    const archived = await version('archived');
    expect(await versions.markCorrupt(archived, 'sha256 mismatch')).toBe(false);
    expect(await statusOf(archived)).toBe('archived');
  });

  it('marks a ready version whose bytes fail their sha256, and answers 503', async () => {
    const tampered = Buffer.from(artifact);
    tampered[tampered.length - 1] ^= 0xff;
    const row = await version('ready', tampered);
    const error = await failure(cache.acquire(row));
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'model version failed its integrity check',
    });
    expect(await statusOf(row)).toBe('corrupt');
  });

  it('never resurrects a version deleted while it was loading', async () => {
    // The request resolved the version while it was ready; the delete archived it and removed
    // its bytes before the load read them.
    const row = await version('ready');
    await prisma.modelVersion.update({ where: { id: row.id }, data: { status: 'archived' } });
    await store.delete(row.artifactKey);
    const error = await failure(cache.acquire(row));
    expect(error.code).toBe('UNAVAILABLE');
    expect(await statusOf(row)).toBe('archived');
  });

  it('leaves a version as it is when storage cannot be read, answering 503', async () => {
    const row = await version('ready');
    const before = await integrityFailures();
    s3Stopped = true;
    await s3.stop(); // the store stops answering: a transient failure, not bad bytes
    const error = await failure(cache.acquire(row));
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'model version is temporarily unavailable',
    });
    expect(await statusOf(row)).toBe('ready');
    expect(await integrityFailures()).toBe(before);
  });
});
