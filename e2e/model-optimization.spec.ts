import { buildMlpModel, randomMlp } from '@maas/onnx';
import { startTestPlatform, type TestPlatform, uploadModelVersion } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  finished,
  type JobView,
  startTrainingJob,
  syntheticCsv,
  uploadDataset,
  waitForJob,
} from './training-helpers.js';

interface OptimizationReport {
  source: { version: number; sha256: string };
  transforms: string[];
  sizeBytes: { before: number; after: number; ratio: number };
  latencyMs: Record<'batch1' | 'batch32', { before: number; after: number }>;
  latencyMeasuredOn: { app: string; workerId?: string; backend?: string; reason?: string };
  accuracy: {
    method: string;
    rows: number;
    before?: number;
    after?: number;
    agreement?: number;
    drop: number;
    maxAccuracyDrop: number;
  };
  agreement: { samples: number; outputs: { name: string; top1Agreement?: number }[] };
}

// POST /api/models/{m}/versions/{v}/optimize end to end: an MLP trained here, made smaller
// (int8) and sparser (pruning) as new versions that serve, each with its report; refusals past
// maxAccuracyDrop (nothing registered) and for what cannot be optimised.
describe('model optimisation: int8 and pruning as new versions, with a report', () => {
  let platform: TestPlatform;
  let api: Api;
  let tenant: { id: string; key: string };
  let trainedVersion: number;

  const optimize = (model: string, version: number | string, body: unknown, key = tenant.key) =>
    api(`/api/models/${model}/versions/${version}/optimize`, {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: body,
    });
  const optimized = async (model: string, version: number, body: unknown): Promise<JobView> => {
    const response = await optimize(model, version, body);
    expect(response.status).toBe(202);
    const job = (await response.json()) as JobView & { algorithm: string };
    expect(job).toMatchObject({ status: 'queued', algorithm: 'optimize' });
    return waitForJob(api, tenant.key, job.id, finished);
  };
  const versionOf = async (model: string, version: number) => {
    const response = await api(`/api/models/${model}/versions/${version}`, {
      headers: { 'x-api-key': tenant.key },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      status: string;
      sizeBytes: number;
      metrics: { optimization: OptimizationReport };
    };
  };
  const infer = (model: string, version: number) =>
    api(`/v2/models/${model}/versions/${version}/infer`, {
      method: 'POST',
      headers: { 'x-api-key': tenant.key },
      json: {
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [2, 6],
            data: [...Array(12).keys()].map((i) => i / 6 - 1),
          },
        ],
      },
    });

  beforeAll(async () => {
    // The last test stops the worker: the trainer then waits this long for a measurement.
    platform = await startTestPlatform({
      env: { trainer: { TRAINER_WORKER_BENCHMARK_TIMEOUT_MS: '10000' } },
    });
    api = apiFor(platform);
    tenant = await createTenant(platform, 'optimizer');
    const datasetId = await uploadDataset(api, tenant.key, 'synthetic', syntheticCsv(600, 6, 5));
    const job = await startTrainingJob(api, tenant.key, {
      datasetId,
      target: 'cls',
      algorithm: 'mlp',
      task: 'classification',
      modelName: 'mlp',
      hyperparameters: { hiddenLayers: [128, 64], epochs: 30, batchSize: 32, learningRate: 0.02 },
    });
    const trained = await waitForJob(api, tenant.key, job.id, finished);
    expect(trained.status).toBe('succeeded');
    trainedVersion = trained.modelVersion!.version;
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('quantises a trained MLP to int8: a smaller version that serves, measured on its held-out rows', async () => {
    const job = await optimized('mlp', trainedVersion, { quantize: 'int8' });
    expect(job.status).toBe('succeeded');
    const version = job.modelVersion!.version;
    expect(version).toBeGreaterThan(trainedVersion);
    const { status, metrics } = await versionOf('mlp', version);
    expect(status).toBe('ready');
    const report = metrics.optimization;
    console.log('[optimize] int8', JSON.stringify(report));
    expect(report.source.version).toBe(trainedVersion);
    expect(report.transforms).toEqual(['quantize-int8 dynamic']);
    // Weights of 4 bytes become 1: the file shrinks to well under half (the graph's own nodes
    // and the preprocessing constants stay).
    expect(report.sizeBytes.after).toBeLessThan(report.sizeBytes.before * 0.5);
    expect((await versionOf('mlp', version)).sizeBytes).toBe(report.sizeBytes.after);
    expect(report.accuracy.method).toBe('held-out rows');
    expect(report.accuracy.rows).toBeGreaterThan(50);
    expect(report.accuracy.drop).toBeLessThanOrEqual(1);
    expect(report.accuracy.after).toBeGreaterThan(0.8);
    const probabilities = report.agreement.outputs.find((o) => o.name === 'probabilities')!;
    expect(probabilities.top1Agreement).toBeGreaterThanOrEqual(0.99);
    for (const batch of ['batch1', 'batch32'] as const) {
      expect(report.latencyMs[batch].before).toBeGreaterThan(0);
      expect(report.latencyMs[batch].after).toBeGreaterThan(0);
    }
    // Measured where it will serve: on the inference worker, through its model cache.
    expect(report.latencyMeasuredOn).toMatchObject({
      app: 'inference',
      workerId: expect.any(String),
      backend: 'onnxruntime',
    });
    const workerMetrics = await (await fetch(`${platform.inference.opsUrl}/metrics`)).text();
    expect(workerMetrics).toMatch(/^maas_latency_benchmarks_total\{[^}]*result="ok"[^}]*\} [1-9]/m);
    // The new version serves, and answers as the source does on the same rows.
    const [source, result] = await Promise.all([
      infer('mlp', trainedVersion),
      infer('mlp', version),
    ]);
    expect(result.status).toBe(200);
    const labels = async (response: Response) =>
      ((await response.json()) as { outputs: { name: string; data: unknown[] }[] }).outputs.find(
        (o) => o.name === 'label',
      )!.data;
    expect(await labels(result)).toEqual(await labels(source));
  }, 120_000);

  it('prunes a trained MLP to 50 % sparsity as a new version with its report', async () => {
    const job = await optimized('mlp', trainedVersion, { pruneSparsity: 0.5, maxAccuracyDrop: 5 });
    expect(job.status).toBe('succeeded');
    const { status, metrics } = await versionOf('mlp', job.modelVersion!.version);
    expect(status).toBe('ready');
    const report = metrics.optimization;
    console.log('[optimize] pruned 50 %', JSON.stringify(report));
    expect(report.transforms).toEqual(['prune-magnitude 0.5']);
    expect(report.accuracy.method).toBe('held-out rows');
    expect(report.accuracy.drop).toBeLessThanOrEqual(5);
    expect((await infer('mlp', job.modelVersion!.version)).status).toBe(200);
  }, 120_000);

  it('refuses a result past maxAccuracyDrop and registers nothing', async () => {
    // An uploaded 784-256-256-10 MLP of random weights: int8 agrees with fp32 on 98–99 % of
    // generated rows (its scores are close together), so a maxAccuracyDrop of 0 refuses it.
    await uploadModelVersion(
      platform,
      tenant.key,
      'wide',
      buildMlpModel({ layers: randomMlp([784, 256, 256, 10], 42) }),
    );
    const listVersions = async () =>
      (
        (await (
          await api('/api/models/wide/versions', { headers: { 'x-api-key': tenant.key } })
        ).json()) as { items: unknown[] }
      ).items.length;
    expect(await listVersions()).toBe(1);
    const job = await optimized('wide', 1, { quantize: 'int8', maxAccuracyDrop: 0 });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(
      /refused: accuracy dropped [\d.]+ points \(generated inputs, 1000 rows\), more than maxAccuracyDrop 0/,
    );
    expect(job.attempts).toBe(1);
    expect(job.modelVersion).toBeNull();
    expect(await listVersions()).toBe(1);
    console.log('[optimize] refused', job.error);
    // With room for that drop, the same request registers version 2.
    const accepted = await optimized('wide', 1, { quantize: 'int8', maxAccuracyDrop: 2 });
    expect(accepted.status).toBe('succeeded');
    expect(accepted.modelVersion).toEqual({ model: 'wide', version: 2 });
    const report = (await versionOf('wide', 2)).metrics.optimization;
    expect(report.accuracy.method).toBe('generated inputs');
    expect(report.accuracy.agreement).toBeGreaterThanOrEqual(0.98);
    expect(report.sizeBytes.ratio).toBeLessThan(0.3);
  }, 120_000);

  it('refuses fp16 on a graph with operators that have no half-precision CPU kernel, with the reason', async () => {
    // The trained MLP's graph standardises its inputs and gathers its label: not fp16-capable.
    const job = await optimized('mlp', trainedVersion, { quantize: 'fp16' });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/cannot optimise this model: .*float16/);
    expect(job.modelVersion).toBeNull();
  }, 60_000);

  it('answers 4xx for what cannot be asked, and 404 for another tenant’s model', async () => {
    expect((await optimize('mlp', trainedVersion, {})).status).toBe(400);
    expect((await optimize('mlp', trainedVersion, { pruneSparsity: 0.99 })).status).toBe(400);
    expect((await optimize('mlp', trainedVersion, { quantize: 'int4' })).status).toBe(400);
    expect((await optimize('mlp', 999, { quantize: 'int8' })).status).toBe(404);
    expect((await optimize('mlp', 'x', { quantize: 'int8' })).status).toBe(400);
    expect((await optimize('nope', 1, { quantize: 'int8' })).status).toBe(404);
    const stranger = await createTenant(platform, 'stranger');
    expect((await optimize('mlp', trainedVersion, { quantize: 'int8' }, stranger.key)).status).toBe(
      404,
    );
  });

  // Last: it stops the worker.
  it('measures the latency on the trainer, and says so, when no inference worker answers', async () => {
    await platform.inference.stop();
    const job = await optimized('mlp', trainedVersion, { pruneSparsity: 0.3 });
    expect(job.status).toBe('succeeded');
    const report = (await versionOf('mlp', job.modelVersion!.version)).metrics.optimization;
    expect(report.latencyMeasuredOn).toMatchObject({
      app: 'trainer',
      reason: expect.stringContaining('no inference worker'),
    });
    expect(report.latencyMs.batch1.after).toBeGreaterThan(0);
    expect(report.latencyMs.batch32.after).toBeGreaterThan(0);
  }, 120_000);
});
