import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, unzipSync } from 'fflate';
import pg from 'pg';
import { AppProcess, freePort, startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  finished,
  type JobView,
  readSse,
  startTrainingJob,
  syntheticCsv,
  uploadDataset,
  waitForJob,
} from './training-helpers.js';

describe('training: MLP jobs (SSE progress, ONNX ≡ TF.js, cancel, trainer killed mid-job)', () => {
  let platform: TestPlatform;
  let api: Api;
  let tenant: { id: string; key: string };
  let datasetId: string;
  const extraTrainers: AppProcess[] = [];

  const startJob = async (modelName: string, hyperparameters: Record<string, unknown>) => {
    const job = await startTrainingJob(api, tenant.key, {
      datasetId,
      target: 'cls',
      algorithm: 'mlp',
      task: 'classification',
      modelName,
      hyperparameters,
    });
    return job.id;
  };

  beforeAll(async () => {
    platform = await startTestPlatform({
      // A killed trainer's lock runs out after 4 s; stalled jobs are looked for every 2 s.
      env: { trainer: { TRAINER_LOCK_DURATION_MS: '4000', TRAINER_STALLED_INTERVAL_MS: '2000' } },
    });
    api = apiFor(platform);
    tenant = await createTenant(platform, 'acme');
    datasetId = await uploadDataset(api, tenant.key, 'synthetic', syntheticCsv(600, 6, 5));
  });

  afterAll(async () => {
    await Promise.all(extraTrainers.map((t) => t.stop()));
    await platform?.stop();
  });

  it('streams progress over SSE and serves an ONNX model that agrees with the TF.js artifact', async () => {
    const id = await startJob('synthetic-mlp', {
      hiddenLayers: [16, 8],
      activation: 'relu',
      epochs: 12,
      batchSize: 32,
      learningRate: 0.02,
      validationSplit: 0.2,
    });
    const stream = await api(`/api/training-jobs/${id}/events`, {
      headers: { 'x-api-key': tenant.key },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(stream);
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[progress.length - 1]).toMatchObject({ epoch: 12, epochs: 12 });
    expect(progress[0]).toHaveProperty('valLoss');
    const end = events[events.length - 1];
    expect(end.event).toBe('end');
    expect(end.data).toMatchObject({
      id,
      status: 'succeeded',
      modelVersion: { model: 'synthetic-mlp', version: 1 },
    });
    expect(events.filter((e) => e.event === 'state').map((e) => e.data.status)).toEqual([
      'queued',
      'running',
      'succeeded',
    ]);
    // Replay after a given event id starts after it.
    const lastProgressId = events.filter((e) => e.event === 'progress').at(-1)!.id!;
    const replay = await readSse(
      await api(`/api/training-jobs/${id}/events`, {
        headers: { 'x-api-key': tenant.key, 'last-event-id': lastProgressId },
      }),
    );
    expect(replay.some((e) => e.event === 'progress')).toBe(false);
    expect(replay.at(-1)!.event).toBe('end');

    const job = (await (
      await api(`/api/training-jobs/${id}`, { headers: { 'x-api-key': tenant.key } })
    ).json()) as JobView;
    expect(['onnxruntime', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']).toContain(job.backend);
    expect(job.metrics!.accuracy as number).toBeGreaterThan(0.6);

    const rows = Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 6 }, (_, j) => ((i * 7 + j * 3) % 9) / 2 - 2),
    );
    const infer = await api('/v2/models/synthetic-mlp/infer', {
      method: 'POST',
      headers: { 'x-api-key': tenant.key },
      json: { inputs: [{ name: 'features', datatype: 'FP32', shape: [8, 6], data: rows.flat() }] },
    });
    expect(infer.status).toBe(200);
    const outputs = (
      (await infer.json()) as { outputs: { name: string; data: (number | string)[] }[] }
    ).outputs;
    const onnxProbabilities = outputs.find((o) => o.name === 'probabilities')!.data as number[];
    const onnxLabels = outputs.find((o) => o.name === 'label')!.data as string[];

    // The TF.js copy comes out through the API (decrypted, its sha256 as ETag); in storage it
    // is encrypted like every artifact: no model.json or weights in clear anywhere.
    const download = await api('/api/models/synthetic-mlp/versions/1/artifact?format=tfjs', {
      headers: { 'x-api-key': tenant.key },
    });
    expect(download.status).toBe(200);
    const zip = Buffer.from(await download.arrayBuffer());
    for (const [wrong, status] of [
      ['/api/models/synthetic-mlp/versions/1/artifact?format=exe', 400],
      ['/api/models/synthetic-mlp/versions/one/artifact', 400],
      ['/api/models/synthetic-mlp/versions/99/artifact', 404],
      ['/api/models/no-such-model/versions/1/artifact?format=tfjs', 404],
    ] as const) {
      const answer = await api(wrong, { headers: { 'x-api-key': tenant.key } });
      expect(answer.status, wrong).toBe(status);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(download.headers.get('etag')).toBe(
      `"${createHash('sha256').update(zip).digest('hex')}"`,
    );
    const version = (await (
      await api('/api/models/synthetic-mlp/versions/1', { headers: { 'x-api-key': tenant.key } })
    ).json()) as { tfjs: { sha256: string; sizeBytes: number } };
    expect(version.tfjs).toEqual({
      sha256: createHash('sha256').update(zip).digest('hex'),
      sizeBytes: zip.length,
    });
    const files = unzipSync(zip);
    const modelJson = JSON.parse(strFromU8(files['model.json']));
    const weights = Buffer.from(files['weights.bin']);
    const pre = JSON.parse(strFromU8(files['preprocessing.json'])) as {
      features: { mean: number; scale: number }[];
    };
    const stored = await readdir(platform.storageRoot, { recursive: true, withFileTypes: true });
    expect(stored.some((e) => e.name === 'model.json' || e.name === 'weights.bin')).toBe(false);
    for (const entry of stored.filter((e) => e.isFile())) {
      const bytes = await readFile(join(entry.parentPath, entry.name));
      expect(bytes.includes(Buffer.from('modelTopology'))).toBe(false);
      expect(bytes.includes(weights.subarray(0, 32))).toBe(false);
    }
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weights.buffer.slice(
          weights.byteOffset,
          weights.byteOffset + weights.byteLength,
        ),
      }),
    );
    const encoded = rows.map((row) =>
      row.map((x, j) => Math.fround(Math.fround(x - pre.features[j].mean) / pre.features[j].scale)),
    );
    const tfjsProbabilities = Array.from(
      (model.predict(tf.tensor2d(encoded)) as tf.Tensor).dataSync(),
    );
    expect(tfjsProbabilities).toHaveLength(onnxProbabilities.length);
    tfjsProbabilities.forEach((p, i) =>
      expect(Math.abs(p - onnxProbabilities[i])).toBeLessThan(1e-4),
    );
    const classes = ['high', 'low', 'mid'];
    onnxLabels.forEach((label, i) => {
      const row = tfjsProbabilities.slice(i * 3, i * 3 + 3);
      expect(label).toBe(classes[row.indexOf(Math.max(...row))]);
    });
  }, 120_000);

  it('stops at targetLoss and serves a classifier and a regressor on both protocols', async () => {
    const auth = { 'x-api-key': tenant.key };
    const refused = await api('/api/training-jobs', {
      method: 'POST',
      headers: auth,
      json: {
        datasetId,
        target: 'cls',
        algorithm: 'mlp',
        task: 'classification',
        modelName: 'never',
        hyperparameters: { targetLoss: 0 },
      },
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { detail: string }).detail).toContain(
      'hyperparameters.targetLoss',
    );
    const classifier = await waitForJob(
      api,
      tenant.key,
      await startJob('target-mlp', {
        hiddenLayers: [16],
        epochs: 5000,
        learningRate: 0.02,
        validationSplit: 0.2,
        targetLoss: 0.35,
      }),
      finished,
    );
    expect(classifier.status, classifier.error).toBe('succeeded');
    expect(classifier.metrics).toMatchObject({ stoppedBy: 'targetLoss' });
    const epochsRun = classifier.metrics!.epochsRun as number;
    expect(epochsRun).toBeLessThan(5000);
    expect(classifier.progress).toMatchObject({ epoch: epochsRun, epochs: 5000 });
    expect(classifier.progress!.valLoss).toBeLessThanOrEqual(0.35);

    // Regression, from its own dataset: y = 2a − b/2 + 7.
    const lines = ['a,b,y'];
    for (let i = 0; i < 300; i += 1) {
      const a = ((i * 37) % 100) / 25 - 2;
      const b = ((i * 61) % 97) / 9.7;
      lines.push(`${a},${b},${2 * a - 0.5 * b + 7}`);
    }
    const created = await startTrainingJob(api, tenant.key, {
      datasetId: await uploadDataset(api, tenant.key, 'linear', lines.join('\n')),
      target: 'y',
      algorithm: 'mlp',
      task: 'regression',
      modelName: 'linear-mlp',
      hyperparameters: {
        hiddenLayers: [8],
        activation: 'linear',
        learningRate: 0.05,
        epochs: 3000,
        targetLoss: 0.002,
      },
    });
    const regressor = await waitForJob(api, tenant.key, created.id, finished);
    expect(regressor.status, regressor.error).toBe('succeeded');
    expect(regressor.metrics).toMatchObject({ stoppedBy: 'targetLoss' });
    expect(regressor.metrics!.r2 as number).toBeGreaterThan(0.98);

    const rows = [
      [1, 4],
      [-1.5, 8],
      [0, 0],
    ];
    const truth = rows.map(([a, b]) => 2 * a - 0.5 * b + 7);
    const v2 = await api('/v2/models/linear-mlp/infer', {
      method: 'POST',
      headers: auth,
      json: { inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 2], data: rows.flat() }] },
    });
    expect(v2.status).toBe(200);
    const [prediction] = (
      (await v2.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] }
    ).outputs;
    expect(prediction).toMatchObject({ name: 'prediction', shape: [3, 1] });
    prediction.data.forEach((value, i) => expect(Math.abs(value - truth[i])).toBeLessThan(0.5));
    const v1 = await api('/v1/models/linear-mlp:predict', {
      method: 'POST',
      headers: auth,
      json: { instances: rows },
    });
    expect(v1.status).toBe(200);
    const predictions = ((await v1.json()) as { predictions: number[][] }).predictions;
    expect(predictions.map((p) => p[0])).toEqual(prediction.data);

    const classify = await api('/v1/models/target-mlp:predict', {
      method: 'POST',
      headers: auth,
      json: { instances: [[2, -2, 2, -2, 2, -2]] },
    });
    expect(classify.status).toBe(200);
    const [answer] = (
      (await classify.json()) as {
        predictions: { label: string; probabilities: number[] }[];
      }
    ).predictions;
    // Σ±x = 12 ≫ 1: the 'high' class.
    expect(answer.label).toBe('high');
    expect(answer.probabilities).toHaveLength(3);
  }, 180_000);

  it('cancels a running job within a few seconds and frees the trainer', async () => {
    // Minutes of training (the ONNX Runtime engine takes ~1 ms per epoch of a small net).
    const id = await startJob('long-mlp', {
      hiddenLayers: [64, 64],
      epochs: 10000,
      batchSize: 8,
    });
    await waitForJob(
      api,
      tenant.key,
      id,
      (job) => job.status === 'running' && job.progress !== null,
    );
    // The trainer runs one job at a time: this one waits in the queue and is cancelled there.
    const queued = await startJob('never-trained', { hiddenLayers: [4], epochs: 2 });
    const cancelQueued = await api(`/api/training-jobs/${queued}/cancel`, {
      method: 'POST',
      headers: { 'x-api-key': tenant.key },
    });
    expect(((await cancelQueued.json()) as JobView).status).toBe('cancelled');
    const asked = Date.now();
    const cancel = await api(`/api/training-jobs/${id}/cancel`, {
      method: 'POST',
      headers: { 'x-api-key': tenant.key },
    });
    expect(cancel.status).toBe(200);
    const job = await waitForJob(api, tenant.key, id, finished, 15_000);
    expect(job.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(job.modelVersion).toBeNull();
    const models = await api('/api/models/long-mlp', { headers: { 'x-api-key': tenant.key } });
    expect(models.status).toBe(404);
    const cancelledList = (await (
      await api('/api/training-jobs?status=cancelled', { headers: { 'x-api-key': tenant.key } })
    ).json()) as { items: JobView[] };
    expect(cancelledList.items.map((j) => j.id).sort()).toEqual([id, queued].sort());
    const neverRan = await waitForJob(api, tenant.key, queued, finished);
    expect(neverRan).toMatchObject({ status: 'cancelled', attempts: 0 });

    // The slot is free: a short job runs next.
    const next = await startJob('after-cancel', { hiddenLayers: [4], epochs: 2 });
    expect((await waitForJob(api, tenant.key, next, finished)).status).toBe('succeeded');
  }, 120_000);

  it('finishes a job whose trainer was killed with SIGKILL mid-training, registering one version', async () => {
    // Long enough to be killed mid-training (several seconds), short enough to finish after.
    const id = await startJob('survivor', { hiddenLayers: [32, 16], epochs: 2000, batchSize: 8 });
    await waitForJob(api, tenant.key, id, (job) => (job.progress?.epoch ?? 0) >= 2);
    await platform.trainer.stop('SIGKILL');
    const replacement = new AppProcess('trainer', await freePort(), platform.trainer.env);
    extraTrainers.push(replacement);
    await replacement.start();

    const job = await waitForJob(api, tenant.key, id, finished, 180_000);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.attempts).toBe(2);
    expect(job.modelVersion).toEqual({ model: 'survivor', version: 1 });
    const versions = (await (
      await api('/api/models/survivor/versions', { headers: { 'x-api-key': tenant.key } })
    ).json()) as {
      items: unknown[];
    };
    expect(versions.items).toHaveLength(1);
    const events = await readSse(
      await api(`/api/training-jobs/${id}/events`, { headers: { 'x-api-key': tenant.key } }),
    );
    const states = events.filter((e) => e.event === 'state').map((e) => e.data.status);
    expect(states).toEqual(['queued', 'running', 'running', 'succeeded']);
  }, 240_000);

  it('trains with TF.js itself when TRAINER_MLP_ENGINE=tfjs, and records that backend', async () => {
    for (const trainer of extraTrainers) await trainer.stop();
    const tfjsTrainer = new AppProcess('trainer', await freePort(), {
      ...platform.trainer.env,
      TRAINER_MLP_ENGINE: 'tfjs',
    });
    extraTrainers.push(tfjsTrainer);
    await tfjsTrainer.start();
    const id = await startJob('tfjs-engine', { hiddenLayers: [8], epochs: 3, batchSize: 32 });
    const job = await waitForJob(api, tenant.key, id, finished, 120_000);
    expect(job.status, job.error).toBe('succeeded');
    // The TF.js backend this machine has (wasm here; tfjs-node where installed), not ORT.
    expect(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']).toContain(job.backend);
  }, 180_000);

  it('charges training time while it runs and stops a job at its time limit or the tenant’s minutes', async () => {
    for (const trainer of extraTrainers) await trainer.stop();
    const limited = new AppProcess('trainer', await freePort(), {
      ...platform.trainer.env,
      TRAINER_MAX_JOB_SECONDS: '12',
    });
    extraTrainers.push(limited);
    await limited.start();
    const long = { hiddenLayers: [64, 64], epochs: 10000, batchSize: 8 };

    // Per-job limit: charged every few seconds while it runs, stopped at 12 s, never retried.
    const id = await startJob('too-long', long);
    const charging = await waitForJob(
      api,
      tenant.key,
      id,
      (job) => job.status === 'running' && job.trainingSeconds >= 5,
      30_000,
    );
    expect(charging.status).toBe('running');
    const stopped = await waitForJob(api, tenant.key, id, finished, 60_000);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatch(/training stopped after 12 s/);
    expect(stopped.attempts).toBe(1);
    expect(stopped.trainingSeconds).toBeGreaterThanOrEqual(12);
    expect(stopped.trainingSeconds).toBeLessThan(20);

    // The tenant's month: 1 minute, of which earlier jobs used all but ~5 s.
    const db = new pg.Client({ connectionString: platform.database.url });
    await db.connect();
    try {
      const used = Number(
        (
          await db.query(
            `SELECT coalesce(sum(training_seconds), 0) AS used FROM training_jobs WHERE tenant_id = $1`,
            [tenant.id],
          )
        ).rows[0].used,
      );
      await db.query(
        `UPDATE training_jobs SET training_seconds = training_seconds + $2 WHERE id = $1`,
        [id, 55 - used],
      );
      await db.query(
        `INSERT INTO tenant_quotas (tenant_id, monthly_training_minutes, updated_at) VALUES ($1, 1, now())
         ON CONFLICT (tenant_id) DO UPDATE SET monthly_training_minutes = 1`,
        [tenant.id],
      );
    } finally {
      await db.end();
    }
    const capped = await waitForJob(
      api,
      tenant.key,
      await startJob('month-end', long),
      finished,
      60_000,
    );
    expect(capped.status).toBe('failed');
    expect(capped.error).toMatch(/training stopped after 5 s/);
  }, 180_000);
});
