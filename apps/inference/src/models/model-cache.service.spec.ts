import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@maas/app-runtime';
import type { ModelVersion, PrismaService } from '@maas/db';
import { createObjectStore } from '@maas/model-registry';
import { buildMlpModel, randomMlp } from '@maas/onnx';
import type { Tensor } from '@maas/tensors';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InferenceConfig, inferenceConfigSchema } from '../config/inference-config.js';
import { InferenceMetrics } from '../inference/inference.metrics.js';
import { ModelCacheService } from './model-cache.service.js';
import type { VersionLookupService } from './version-lookup.service.js';

const SIZES = [64, 128, 10];
const mlp = (seed: number) => Buffer.from(buildMlpModel({ layers: randomMlp(SIZES, seed) }));

function versionRow(id: string, key: string): ModelVersion {
  return {
    id,
    tenantId: 'tenant',
    artifactKey: key,
    sha256: null,
    encrypted: false,
    format: 'onnx',
    servingConfig: null,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }],
    outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 10] }],
  } as unknown as ModelVersion;
}

const row: Tensor = {
  name: 'input',
  datatype: 'FP32',
  shape: [1, 64],
  data: new Float32Array(64).fill(0.5),
};

describe('ModelCacheService', () => {
  let root: string;
  let cache: ModelCacheService;
  let metrics: InferenceMetrics;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'maas-cache-'));
    const store = createObjectStore({ driver: 'fs', root });
    await store.put('a.onnx', mlp(1));
    await store.put('b.onnx', mlp(2));
    const config: InferenceConfig = {
      ...inferenceConfigSchema.parse({}),
      // Room for one of the two models only.
      MODEL_CACHE_BYTES: Math.floor(mlp(1).length * 1.5),
      ORT_INTRA_OP_THREADS: 1,
    };
    metrics = new InferenceMetrics(new Registry());
    cache = new ModelCacheService(
      store,
      config,
      createLogger({ name: 'test', level: 'silent' }),
      {} as VersionLookupService, // only used to mark corrupt artifacts
      metrics,
      {} as PrismaService, // only used for encrypted artifacts
    );
  });

  afterAll(async () => {
    await cache?.onModuleDestroy();
    await rm(root, { recursive: true, force: true });
  });

  it('loads once for concurrent cold requests', async () => {
    const a = versionRow('a', 'a.onnx');
    const held = await Promise.all(Array.from({ length: 5 }, () => cache.acquire(a)));
    expect(new Set(held).size).toBe(1);
    expect((await metrics.cacheLoads.get()).values[0]?.value).toBe(1);
    for (const model of held) cache.release(model);
  });

  it('evicts beyond the byte budget but keeps a session alive while a request holds it', async () => {
    const a = await cache.acquire(versionRow('a', 'a.onnx'));
    const b = await cache.acquire(versionRow('b', 'b.onnx'));
    // Loading b pushed a out of the cache, yet the request holding a can still run on it.
    expect(cache.loadedVersionIds()).toEqual(['b']);
    expect(a.evicted).toBe(true);
    const result = await a.batcher.submit([row], ['output']);
    expect(result.outputs[0]!.shape).toEqual([1, 10]);
    // Once released, its session is gone: runs on it fail, and a new request loads it afresh.
    cache.release(a);
    await expect(a.runtime.run([row], ['output'])).rejects.toThrow();
    const again = await cache.acquire(versionRow('a', 'a.onnx'));
    expect(again).not.toBe(a);
    expect((await again.batcher.submit([row], ['output'])).outputs[0]!.shape).toEqual([1, 10]);
    cache.release(again);
    cache.release(b);
    expect((await metrics.cacheEvictions.get()).values[0]?.value).toBeGreaterThanOrEqual(2);
  });
});
