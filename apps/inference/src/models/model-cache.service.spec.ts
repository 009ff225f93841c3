import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@maas/app-runtime';
import type { ModelVersion, PrismaService } from '@maas/db';
import { createObjectStore } from '@maas/model-registry';
import {
  TensorDataType,
  buildMlpModel,
  buildModel,
  encodeModel,
  node,
  randomMlp,
  valueInfo,
} from '@maas/onnx';
import { pino } from 'pino';
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

/** A request's decoded input: each its own (a submitted request's data is handed over). */
const row = (): Tensor => ({
  name: 'input',
  datatype: 'FP32',
  shape: [1, 64],
  data: new Float32Array(64).fill(0.5),
});

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
      // Room for one of the two models only (each charged its size, one tenant).
      MODEL_CACHE_BYTES: Math.floor(mlp(1).length * 1.5),
      MODEL_MEMORY_FACTOR: 1,
      MODEL_CACHE_TENANT_SHARE: 1,
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
    const loadingB = cache.acquire(versionRow('b', 'b.onnx'));
    // b needs a's room: a is evicted at once, yet the request holding it still runs on it,
    // and its memory counts until then, so b waits for it instead of going over the budget.
    expect(a.evicted).toBe(true);
    expect(cache.loadedVersionIds()).toEqual([]);
    const request = row();
    const result = await a.batcher.submit([request], ['output']);
    expect(result.outputs[0]!.shape).toEqual([1, 10]);
    // The request's data went to the model thread without a copy: it reads as empty here.
    expect(request.data).toHaveLength(0);
    expect(request.shape).toEqual([1, 64]);
    expect((await metrics.artifactReads.get()).values).toEqual([
      expect.objectContaining({ labels: { result: 'ok' }, value: 1 }),
    ]);
    // Once released, its session is gone: runs on it fail, and b loads.
    cache.release(a);
    const b = await loadingB;
    expect(cache.loadedVersionIds()).toEqual(['b']);
    await expect(a.runtime.run([row()], ['output'])).rejects.toThrow();
    cache.release(b);
    // A new request loads a afresh, in the room of the now idle b.
    const again = await cache.acquire(versionRow('a', 'a.onnx'));
    expect(again).not.toBe(a);
    expect(b.evicted).toBe(true);
    expect((await again.batcher.submit([row()], ['output'])).outputs[0]!.shape).toEqual([1, 10]);
    cache.release(again);
    const evictions = await metrics.cacheEvictions.get();
    expect(evictions.values).toEqual([
      expect.objectContaining({ labels: { reason: 'budget' }, value: 2 }),
    ]);
  });
});

describe('ModelCacheService with a stored model that is not self-contained', () => {
  let root: string;
  let cache: ModelCacheService;
  const failed: { id: string; reason: string }[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'maas-cache-hostile-'));
    const store = createObjectStore({ driver: 'fs', root });
    // Stored as if before the sandbox check existed: the initializer's data is a file.
    const hostile = buildModel({
      graph: {
        nodes: [node('Identity', ['W'], ['output'])],
        initializers: [
          {
            name: 'W',
            dataType: TensorDataType.FLOAT,
            dims: [4],
            dataLocation: 1,
            externalData: [{ key: 'location', value: '.data/dev.env' }],
          },
        ],
        inputs: [],
        outputs: [valueInfo('output', TensorDataType.FLOAT, [4])],
      },
    });
    await store.put('hostile.onnx', Buffer.from(encodeModel(hostile)));
    const versions = {
      markFailed: async (version: ModelVersion, reason: string) => {
        failed.push({ id: version.id, reason });
      },
    } as unknown as VersionLookupService;
    cache = new ModelCacheService(
      store,
      { ...inferenceConfigSchema.parse({}), ORT_INTRA_OP_THREADS: 1 },
      pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
      versions,
      new InferenceMetrics(new Registry()),
      {} as PrismaService,
    );
  });

  afterAll(async () => {
    await cache?.onModuleDestroy();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses to load it (422), marks it failed, and says where without a path', async () => {
    const version = { ...versionRow('h', 'hostile.onnx'), number: 3 } as ModelVersion;
    const refusal = await cache.acquire(version).then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string },
    );
    const reason =
      "initializer 'W' in graph 'main' stores its data outside the model (external data); models must be self-contained";
    expect(refusal).toMatchObject({
      code: 'INVALID_MODEL',
      message: `version 3 cannot be served: ${reason}`,
    });
    expect(failed).toEqual([{ id: 'h', reason }]);
    expect(cache.loadedVersionIds()).toEqual([]);
    const logged = logLines.join('');
    expect(logged).toContain('model version refused at load');
    expect(logged).not.toContain('dev.env');
  });
});
