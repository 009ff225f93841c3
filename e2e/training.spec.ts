import {
  adminToken,
  createTenantWithKey,
  startTestPlatform,
  type TestPlatform,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  finished,
  irisSplit,
  type JobView,
  listItems,
  startTrainingJob,
  waitForJob,
} from './training-helpers.js';

describe('training: datasets → decision tree → served version', () => {
  let platform: TestPlatform;
  let api: Api;
  let acme: { id: string; key: string };
  let globex: { id: string; key: string };
  let datasetId: string;
  const iris = irisSplit();

  const upload = (key: string, name: string, csv: string, type = 'text/csv') =>
    api(`/api/datasets?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': type },
      body: csv,
    });

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { gateway: { MAX_DATASET_BYTES: '65536' } } });
    api = apiFor(platform);
    acme = await createTenant(platform, 'acme');
    globex = await createTenant(platform, 'globex');
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('uploads a CSV and shows its inferred columns; lists, gets, and hides it from others', async () => {
    const response = await upload(acme.key, 'iris', iris.train);
    expect(response.status).toBe(201);
    const dataset = (await response.json()) as {
      id: string;
      name: string;
      rows: number;
      sizeBytes: number;
      sha256: string;
      columns: { name: string; type: string; label?: boolean }[];
    };
    expect(dataset).toMatchObject({ name: 'iris', rows: 120 });
    expect(dataset.columns.map((c) => [c.name, c.type, c.label ?? false])).toEqual([
      ['sepal_length', 'numeric', false],
      ['sepal_width', 'numeric', false],
      ['petal_length', 'numeric', false],
      ['petal_width', 'numeric', false],
      ['species', 'categorical', true],
    ]);
    datasetId = dataset.id;
    // Encrypted at rest: the stored object is not the CSV; size and sha256 are the CSV's.
    const { readFile } = await import('node:fs/promises');
    const { createHash } = await import('node:crypto');
    const atRest = await readFile(
      `${platform.storageRoot}/tenants/${acme.id}/datasets/${datasetId}`,
    );
    expect(atRest.includes(Buffer.from('sepal_length'))).toBe(false);
    expect(atRest.includes(Buffer.from('setosa'))).toBe(false);
    expect(atRest.length).toBeGreaterThan(Buffer.byteLength(iris.train));
    expect(dataset.sizeBytes).toBe(Buffer.byteLength(iris.train));
    expect(dataset.sha256).toBe(createHash('sha256').update(iris.train).digest('hex'));

    const multipart = new FormData();
    multipart.append('file', new Blob(['a,b\n1,x\n2,y\n'], { type: 'text/csv' }), 'small.csv');
    const viaForm = await api('/api/datasets?name=small', {
      method: 'POST',
      headers: { 'x-api-key': acme.key },
      body: multipart,
    });
    expect(viaForm.status).toBe(201);
    const small = (await viaForm.json()) as { id: string; rows: number };
    expect(small.rows).toBe(2);

    const list = (await (
      await api('/api/datasets', { headers: { 'x-api-key': acme.key } })
    ).json()) as {
      items: { id: string }[];
      nextCursor: string | null;
    };
    expect(list.items.map((d) => d.id).sort()).toEqual([datasetId, small.id].sort());
    expect(list.nextCursor).toBeNull();
    const got = await api(`/api/datasets/${datasetId}`, { headers: { 'x-api-key': acme.key } });
    expect(got.status).toBe(200);
    const foreign = await api(`/api/datasets/${datasetId}`, {
      headers: { 'x-api-key': globex.key },
    });
    expect(foreign.status).toBe(404);
    const foreignDelete = await api(`/api/datasets/${datasetId}`, {
      method: 'DELETE',
      headers: { 'x-api-key': globex.key },
    });
    expect(foreignDelete.status).toBe(404);

    const removed = await api(`/api/datasets/${small.id}`, {
      method: 'DELETE',
      headers: { 'x-api-key': acme.key },
    });
    expect(removed.status).toBe(204);
    expect(
      (await api(`/api/datasets/${small.id}`, { headers: { 'x-api-key': acme.key } })).status,
    ).toBe(404);
    const { readdir } = await import('node:fs/promises');
    const files = await readdir(`${platform.storageRoot}/tenants/${acme.id}/datasets`);
    expect(files).toEqual([datasetId]);
  });

  it('refuses bad CSVs with the line at fault, and leaves nothing behind', async () => {
    const cases: [string, number, string][] = [
      ['a,b,c\n1,2,3\n4,5\n', 400, 'line 3'],
      ['', 400, 'empty'],
      ['1,2,3\n4,5,6\n', 400, 'header'],
      ['a,b\n', 400, 'no data rows'],
    ];
    for (const [csv, status, text] of cases) {
      const response = await upload(acme.key, 'bad', csv);
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(((await response.json()) as { detail: string }).detail).toContain(text);
    }
    const tooLarge = await upload(acme.key, 'big', `a,b\n${'1,2\n'.repeat(40_000)}`);
    expect(tooLarge.status).toBe(413);
    expect(await listItems(api, acme.key, '/api/datasets')).toHaveLength(1);
    const { readdir } = await import('node:fs/promises');
    const stored = await readdir(`${platform.storageRoot}/tenants/${acme.id}/datasets`);
    expect(stored).toEqual([datasetId]);
  });

  /** A new tenant whose storage quota is `bytes`, in force on the gateway. */
  const tenantWithStorageQuota = async (name: string, bytes: number) => {
    const token = await adminToken(platform);
    const tenant = await createTenantWithKey(platform, name, { token });
    const quota = await api(`/api/admin/tenants/${tenant.tenantId}/quotas`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ storageBytes: bytes }),
    });
    expect(quota.status).toBe(200);
    // Tenant limits are cached for up to a second.
    await new Promise((r) => setTimeout(r, 1100));
    return tenant;
  };

  it('counts datasets against the tenant storage quota (413, nothing stored)', async () => {
    const small = await tenantWithStorageQuota('small-storage', 2000);
    const first = await upload(small.key, 'fits', `a,b\n${'1,2\n'.repeat(300)}`);
    expect(first.status).toBe(201);
    const second = await upload(small.key, 'over', `a,b\n${'1,2\n'.repeat(300)}`);
    expect(second.status).toBe(413);
    expect(((await second.json()) as { detail: string }).detail).toContain('storage quota');
    const { readdir } = await import('node:fs/promises');
    const stored = await readdir(`${platform.storageRoot}/tenants/${small.tenantId}/datasets`);
    expect(stored).toHaveLength(1);
  });

  it('never lets concurrent dataset uploads past the storage quota together', async () => {
    const tight = await tenantWithStorageQuota('tight-storage', 2000);
    // Each fits alone (1,204 bytes); any two together do not.
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        upload(tight.key, `race-${i}`, `a,b\n${'1,2\n'.repeat(300)}`),
      ),
    );
    const statuses = answers.map((r) => r.status);
    const admitted = statuses.filter((status) => status === 201).length;
    expect(admitted).toBeLessThanOrEqual(1);
    expect(statuses.every((status) => status === 201 || status === 413)).toBe(true);
    expect(await listItems(api, tight.key, '/api/datasets')).toHaveLength(admitted);
    const { readdir } = await import('node:fs/promises');
    const stored = await readdir(
      `${platform.storageRoot}/tenants/${tight.tenantId}/datasets`,
    ).catch(() => []);
    expect(stored).toHaveLength(admitted);
  });

  it('refuses bad training specs before queueing anything', async () => {
    const base = {
      datasetId: '',
      target: 'species',
      algorithm: 'decision_tree',
      task: 'classification',
      modelName: 'iris-tree',
      hyperparameters: {},
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ target: 'colour' }, "target 'colour'"],
      [{ features: ['sepal_length', 'nope'] }, "feature 'nope'"],
      [{ task: 'regression' }, 'categorical'],
      [{ hyperparameters: { maxDepth: 0 } }, 'maxDepth'],
      [{ algorithm: 'mlp', hyperparameters: { epochs: 20000 } }, 'epochs'],
      [{ algorithm: 'mlp', hyperparameters: { batchSize: 0 } }, 'batchSize'],
      [{ hyperparameters: { criterion: 'variance' } }, 'criterion'],
      [{ algorithm: 'svm' }, 'algorithm'],
    ];
    for (const [change, text] of cases) {
      const response = await api('/api/training-jobs', {
        method: 'POST',
        headers: { 'x-api-key': acme.key },
        json: { ...base, datasetId, ...change },
      });
      expect(response.status, JSON.stringify(change)).toBe(400);
      expect(JSON.stringify(await response.json())).toContain(text);
    }
    const foreign = await api('/api/training-jobs', {
      method: 'POST',
      headers: { 'x-api-key': globex.key },
      json: { ...base, datasetId },
    });
    expect(foreign.status).toBe(404);
    expect(await listItems(api, acme.key, '/api/training-jobs')).toHaveLength(0);
  });

  it('trains a C4.5 tree on Iris, registers it, and serves it through /v2 and /v1 at ≥ 0.9 accuracy', async () => {
    const { id, status } = await startTrainingJob(api, acme.key, {
      datasetId,
      target: 'species',
      algorithm: 'decision_tree',
      task: 'classification',
      modelName: 'iris-tree',
      hyperparameters: { criterion: 'gainRatio', pruning: 'pessimistic' },
    });
    expect(status).toBe('queued');

    const job = await waitForJob(api, acme.key, id, finished);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.modelVersion).toEqual({ model: 'iris-tree', version: 1 });
    expect(job.metrics).toMatchObject({ testRows: 24, trainRows: 96 });
    expect(job.metrics!.accuracy as number).toBeGreaterThanOrEqual(0.8);
    expect(job.backend).toBeNull();
    expect(job.attempts).toBe(1);
    expect(
      (await api(`/api/training-jobs/${id}`, { headers: { 'x-api-key': globex.key } })).status,
    ).toBe(404);

    const version = (await (
      await api('/api/models/iris-tree/versions/1', { headers: { 'x-api-key': acme.key } })
    ).json()) as {
      status: string;
      inputs: unknown[];
      outputs: { name: string; datatype: string }[];
    };
    expect(version.status).toBe('ready');
    expect(version.outputs.map((o) => [o.name, o.datatype])).toEqual([
      ['label', 'BYTES'],
      ['probabilities', 'FP32'],
    ]);

    const infer = await api('/v2/models/iris-tree/infer', {
      method: 'POST',
      headers: { 'x-api-key': acme.key },
      json: {
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [iris.heldOut.length, 4],
            data: iris.heldOut.flatMap((row) => row.x),
          },
        ],
      },
    });
    expect(infer.status).toBe(200);
    const result = (await infer.json()) as {
      outputs: { name: string; data: unknown[]; shape: number[] }[];
    };
    const labels = result.outputs.find((o) => o.name === 'label')!.data as string[];
    const probabilities = result.outputs.find((o) => o.name === 'probabilities')!;
    expect(probabilities.shape).toEqual([30, 3]);
    const correct = labels.filter((label, i) => label === iris.heldOut[i].label).length;
    expect(correct / iris.heldOut.length).toBeGreaterThanOrEqual(0.9);

    const predict = await api('/v1/models/iris-tree:predict', {
      method: 'POST',
      headers: { 'x-api-key': acme.key },
      json: { instances: iris.heldOut.map((row) => ({ features: row.x })) },
    });
    if (predict.status !== 404) {
      expect(predict.status).toBe(200);
      const body = (await predict.json()) as { predictions: { label: string }[] };
      const v1Correct = body.predictions.filter((p, i) => p.label === iris.heldOut[i].label).length;
      expect(v1Correct / iris.heldOut.length).toBeGreaterThanOrEqual(0.9);
    }

    const jobs = await listItems<JobView>(api, acme.key, '/api/training-jobs');
    expect(jobs.map((j) => [j.id, j.status])).toEqual([[id, 'succeeded']]);
  });

  it('trains a CART tree with cost-complexity pruning into a new version of the same model', async () => {
    const { id } = await startTrainingJob(api, acme.key, {
      datasetId,
      target: 'species',
      features: ['petal_length', 'petal_width'],
      algorithm: 'decision_tree',
      task: 'classification',
      modelName: 'iris-tree',
      hyperparameters: { criterion: 'gini', pruning: 'costComplexity', maxDepth: 4 },
    });
    const job = await waitForJob(api, acme.key, id, finished);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.modelVersion).toEqual({ model: 'iris-tree', version: 2 });
    const infer = await api('/v2/models/iris-tree/versions/2/infer', {
      method: 'POST',
      headers: { 'x-api-key': acme.key },
      json: {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 2], data: [1.4, 0.2, 5.8, 2.2] }],
      },
    });
    const result = (await infer.json()) as { outputs: { name: string; data: unknown[] }[] };
    expect(result.outputs.find((o) => o.name === 'label')!.data).toEqual(['setosa', 'virginica']);
  });
});
