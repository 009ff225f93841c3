import { startTestPlatform, type TestPlatform, WEATHER_CSV } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  finished,
  startTrainingJob,
  uploadDataset,
  waitForJob,
} from './training-helpers.js';

interface TreeView {
  variant: string;
  pruning: string;
  criterion: string;
  leaves: number;
  root: { type: string; feature?: string; split?: { kind: string }; samples: number };
  rules: string[];
}

describe('decision trees: ID3, C4.5 and CART through the API', () => {
  let platform: TestPlatform;
  let api: Api;
  let acme: { id: string; key: string };
  let globex: { id: string; key: string };
  let datasetId: string;

  /** A job on acme's weather dataset: a classification tree that predicts `play`. */
  const weatherJob = (modelName: string, hyperparameters: Record<string, unknown>) => ({
    datasetId,
    target: 'play',
    algorithm: 'decision_tree',
    task: 'classification' as const,
    modelName,
    hyperparameters,
  });
  const train = (modelName: string, hyperparameters: Record<string, unknown>) =>
    startTrainingJob(
      api,
      acme.key,
      weatherJob(modelName, { testSplit: 0, minSamplesLeaf: 2, ...hyperparameters }),
    );
  const tree = (key: string, model: string, version: number | string) =>
    api(`/api/models/${model}/versions/${version}/tree`, { headers: { 'x-api-key': key } });

  beforeAll(async () => {
    platform = await startTestPlatform();
    api = apiFor(platform);
    acme = await createTenant(platform, 'acme');
    globex = await createTenant(platform, 'globex');
    datasetId = await uploadDataset(api, acme.key, 'weather', WEATHER_CSV);
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('trains every variant with every pruning method on all 14 rows and shows each tree', async () => {
    const runs = [
      { model: 'weather-id3', hyperparameters: { variant: 'id3' }, pruning: 'none' },
      { model: 'weather-c45', hyperparameters: { variant: 'c4.5', pruning: 'none' } },
      { model: 'weather-c45-pess', hyperparameters: {}, pruning: 'pessimistic', variant: 'c4.5' },
      { model: 'weather-c45-rep', hyperparameters: { variant: 'c4.5', pruning: 'reducedError' } },
      { model: 'weather-id3-rep', hyperparameters: { variant: 'id3', pruning: 'reducedError' } },
      { model: 'weather-cart', hyperparameters: { variant: 'cart', pruning: 'costComplexity' } },
      { model: 'weather-cart-rep', hyperparameters: { variant: 'cart', pruning: 'reducedError' } },
      { model: 'weather-cart-none', hyperparameters: { variant: 'cart', pruning: 'none' } },
    ];
    // One at a time: a tenant's queued jobs are limited.
    for (const run of runs) {
      const created = await train(run.model, run.hyperparameters);
      const job = await waitForJob(api, acme.key, created.id, finished);
      expect(job.status, job.error).toBe('succeeded');
      // testSplit 0: the metrics say they were measured on the training rows.
      expect(job.metrics).toMatchObject({ evaluatedOn: 'training', trainRows: 14 });
      const response = await tree(acme.key, run.model, 1);
      expect(response.status).toBe(200);
      const view = (await response.json()) as TreeView;
      const variant =
        (run.hyperparameters as { variant?: string }).variant ??
        (run as { variant?: string }).variant;
      expect(view).toMatchObject({
        variant,
        pruning: (run.hyperparameters as { pruning?: string }).pruning ?? run.pruning,
      });
      expect(view.rules.length).toBe(view.leaves);
      expect(view.rules.every((rule) => /^IF .+ THEN (play|don't)$/.test(rule))).toBe(true);
      if (variant !== 'cart' && view.root.type === 'split') {
        expect(view.root.split?.kind).toMatch(/categories|threshold/);
      }
      if (variant === 'cart' && view.root.type === 'split') {
        expect(['category', 'threshold']).toContain(view.root.split?.kind);
      }
    }

    // C4.5 unpruned: Quinlan's tree, its gain ratio at the root, served by /v2.
    const c45 = (await (await tree(acme.key, 'weather-c45', 1)).json()) as TreeView & {
      root: { criterion: { name: string; value: number }; distribution: Record<string, number> };
    };
    expect(c45.root).toMatchObject({
      feature: 'outlook',
      samples: 14,
      criterion: { name: 'gainRatio' },
      distribution: { play: 9, "don't": 5 },
    });
    expect(c45.rules).toContain("IF outlook = sunny AND humidity > 75 THEN don't");
    expect(c45.rules).toContain('IF outlook = overcast THEN play');
    const id3 = (await (await tree(acme.key, 'weather-id3', 1)).json()) as TreeView & {
      root: { criterion: { name: string; value: number } };
    };
    expect(id3.root.criterion.name).toBe('informationGain');
    expect(id3.root.criterion.value).toBeCloseTo(0.2467, 3);

    const infer = await api('/v2/models/weather-c45/infer', {
      method: 'POST',
      headers: { 'x-api-key': acme.key },
      json: {
        inputs: [
          {
            name: 'outlook',
            datatype: 'BYTES',
            shape: [3, 1],
            data: ['sunny', 'overcast', 'rain'],
          },
          { name: 'temperature', datatype: 'FP32', shape: [3, 1], data: [70, 70, 70] },
          { name: 'humidity', datatype: 'FP32', shape: [3, 1], data: [90, 90, 90] },
          { name: 'windy', datatype: 'BYTES', shape: [3, 1], data: ['false', 'false', 'true'] },
        ],
      },
    });
    expect(infer.status).toBe(200);
    const result = (await infer.json()) as { outputs: { name: string; data: unknown[] }[] };
    expect(result.outputs.find((o) => o.name === 'label')!.data).toEqual([
      "don't",
      'play',
      "don't",
    ]);
  }, 300_000);

  it('answers 404 for a missing or foreign tree and 409 for a version that is not a tree', async () => {
    expect((await tree(globex.key, 'weather-c45', 1)).status).toBe(404);
    expect((await tree(acme.key, 'weather-c45', 9)).status).toBe(404);
    expect((await tree(acme.key, 'no-such-model', 1)).status).toBe(404);
    expect((await tree(acme.key, 'weather-c45', 'x')).status).toBe(400);

    // The same ONNX bytes uploaded by hand: a served version, but no trained tree with it.
    const artifact = await api('/api/models/weather-c45/versions/1/artifact', {
      headers: { 'x-api-key': acme.key },
    });
    expect(artifact.status).toBe(200);
    const bytes = Buffer.from(await artifact.arrayBuffer());
    const uploaded = await api('/api/models/weather-c45/versions', {
      method: 'POST',
      headers: { 'x-api-key': acme.key, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(uploaded.status).toBe(201);
    const version = ((await uploaded.json()) as { version: number }).version;
    const refused = await tree(acme.key, 'weather-c45', version);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toContain(
      'not a trained decision tree',
    );
  });

  it('refuses variant, criterion and pruning combinations that do not exist with a 400', async () => {
    for (const hyperparameters of [
      { variant: 'id3', criterion: 'gini' },
      { variant: 'c4.5', pruning: 'costComplexity' },
      { variant: 'quinlan' },
      { pruning: 'reducedError', validationSplit: 0.9 },
      { minGain: -0.1 },
      { testSplit: 0.01 },
    ]) {
      const response = await api('/api/training-jobs', {
        method: 'POST',
        headers: { 'x-api-key': acme.key },
        json: weatherJob('refused', hyperparameters),
      });
      expect(response.status, JSON.stringify(hyperparameters)).toBe(400);
    }
  });
});
