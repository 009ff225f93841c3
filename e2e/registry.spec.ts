import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildGemmModel } from '@maas/onnx';
import {
  buildTfjsArchive,
  createTenantWithKey,
  gatewayFetch,
  startTestPlatform,
  type JsonRequest,
  type TestPlatform,
} from '@maas/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const gemm = (bias: number[]) =>
  Buffer.from(
    buildGemmModel({
      weights: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0, 0, 0],
      ],
      bias,
    }),
  );

async function storedFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('model registry over HTTP', () => {
  let platform: TestPlatform;
  let tenant: { tenantId: string; key: string; keyId: string };
  let api: (path: string, init?: JsonRequest) => Promise<Response>;
  let db: pg.Client;

  const upload = (model: string, body: Buffer, format = 'onnx') =>
    api(`/api/models/${model}/versions?format=${format}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
  const infer = (path: string) =>
    api(`/v2/models/${path}/infer`, {
      method: 'POST',
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }] },
    });

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { trainer: { REGISTRY_SWEEP_INTERVAL_MS: '300' } } });
    tenant = await createTenantWithKey(platform, 'registry');
    api = (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('x-api-key', tenant.key);
      return gatewayFetch(platform, path, { ...init, headers });
    };
    db = new pg.Client({ connectionString: platform.database.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await platform?.stop();
  });

  it('creates, reads, updates and lists models', async () => {
    const created = await api('/api/models', {
      method: 'POST',
      json: { name: 'iris', description: 'first', metadata: { team: 'a' } },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'iris', description: 'first', labels: {} });
    expect((await api('/api/models', { method: 'POST', json: { name: 'iris' } })).status).toBe(409);
    expect((await api('/api/models', { method: 'POST', json: { name: 'Bad Name' } })).status).toBe(
      400,
    );

    const patched = await api('/api/models/iris', {
      method: 'PATCH',
      json: { description: 'second', metadata: { team: 'b', owner: 'x' } },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      description: 'second',
      metadata: { team: 'b', owner: 'x' },
    });
    expect((await (await api('/api/models/iris')).json()) as object).toMatchObject({
      description: 'second',
    });
    const list = (await (await api('/api/models?limit=10')).json()) as {
      items: { name: string }[];
    };
    expect(list.items.map((m) => m.name)).toEqual(['iris']);
  });

  it('lists versions with state, size, sha256, signature, time and uploader', async () => {
    expect((await upload('iris', gemm([1, 2, 3]))).status).toBe(201);
    expect((await upload('iris', Buffer.from('garbage bytes'))).status).toBe(422);
    const response = await api('/api/models/iris/versions');
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as { items: Record<string, unknown>[] };
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({
      version: 1,
      status: 'ready',
      format: 'onnx',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      sizeBytes: gemm([1, 2, 3]).length,
      encrypted: true,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
      createdBy: `api-key:${tenant.keyId}`,
      createdAt: expect.any(String),
    });
    expect(items[1]).toMatchObject({
      version: 2,
      status: 'failed',
      statusReason: expect.stringMatching(/not a loadable ONNX model/),
    });
  });

  it('sets a version’s serving config', async () => {
    const response = await api('/api/models/iris/versions/1', {
      method: 'PATCH',
      json: { servingConfig: { maxBatchSize: 8, maxQueueDelayMs: 5, instanceConcurrency: 2 } },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      servingConfig: { maxBatchSize: 8, maxQueueDelayMs: 5, instanceConcurrency: 2 },
    });
    const bad = await api('/api/models/iris/versions/1', {
      method: 'PATCH',
      json: { servingConfig: { maxBatchSize: 0 } },
    });
    expect(bad.status).toBe(400);
  });

  it('routes unversioned requests by label, with a weighted split', async () => {
    expect((await upload('iris', gemm([10, 20, 30]))).status).toBe(201); // version 3
    const answerOf = async (path: string) => {
      const response = await infer(path);
      expect(response.status, path).toBe(200);
      const body = (await response.json()) as { model_version: string };
      return body.model_version;
    };
    // The gateway may reuse a resolution for about a second: poll until the move shows.
    const eventually = async (path: string, want: string[]) => {
      const seen = new Set<string>();
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        seen.add(await answerOf(path));
        if (want.every((v) => seen.has(v))) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [...seen].filter((v) => want.includes(v)).sort();
    };
    expect(await answerOf('iris')).toBe('3');
    const put = await api('/api/models/iris/labels/production', {
      method: 'PUT',
      json: { version: 1 },
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ name: 'production', versions: { '1': 100 } });
    expect(await eventually('iris', ['1'])).toEqual(['1']);

    const split = await api('/api/models/iris/labels/production', {
      method: 'PUT',
      json: { versions: { '1': 50, '3': 50 } },
    });
    expect(split.status).toBe(200);
    expect(await eventually('iris', ['1', '3'])).toEqual(['1', '3']);
    const model = (await (await api('/api/models/iris')).json()) as { labels: unknown };
    expect(model.labels).toEqual({ production: { versions: { '1': 50, '3': 50 } } });

    // Failed versions and bad names are refused; a labelled version cannot be deleted.
    const failedTarget = await api('/api/models/iris/labels/canary', {
      method: 'PUT',
      json: { version: 2 },
    });
    expect(failedTarget.status).toBe(400);
    const badName = await api('/api/models/iris/labels/no%20spaces', {
      method: 'PUT',
      json: { version: 1 },
    });
    expect(badName.status).toBe(400);
    expect((await api('/api/models/iris/versions/3', { method: 'DELETE' })).status).toBe(409);

    expect((await api('/api/models/iris/labels/production', { method: 'DELETE' })).status).toBe(
      204,
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await answerOf('iris')).toBe('3');
  });

  it('accepts a TF.js zip and rejects one with a missing shard', async () => {
    await api('/api/models', { method: 'POST', json: { name: 'tfjs-dense' } });
    const ok = await upload('tfjs-dense', await buildTfjsArchive(), 'tfjs');
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({
      version: 1,
      status: 'ready',
      format: 'tfjs',
      inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'dense', datatype: 'FP32', shape: [-1, 3] }],
    });
    const missing = await upload('tfjs-dense', await buildTfjsArchive({ dropShard: true }), 'tfjs');
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { detail: string }).detail).toMatch(/shard.*missing/);
  });

  it('detects a tampered artifact in the worker: 503 for that version, marked corrupt', async () => {
    await api('/api/models', { method: 'POST', json: { name: 'tampered' } });
    const version = (await (await upload('tampered', gemm([0, 0, 0]))).json()) as {
      version: number;
    };
    const {
      rows: [row],
    } = await db.query(
      `SELECT v.artifact_key FROM model_versions v JOIN models m ON m.id = v.model_id
       WHERE m.name = 'tampered' AND v.number = $1`,
      [version.version],
    );
    const path = join(platform.storageRoot, ...(row.artifact_key as string).split('/'));
    const bytes = await readFile(path);
    bytes[bytes.length - 40] ^= 0xff;
    await writeFile(path, bytes);

    const first = await infer(`tampered/versions/${version.version}`);
    expect(first.status).toBe(503);
    expect(await first.json()).toHaveProperty('error');
    const again = await infer(`tampered/versions/${version.version}`);
    expect(again.status).toBe(503);
    const listed = (await (
      await api(`/api/models/tampered/versions/${version.version}`)
    ).json()) as {
      status: string;
    };
    expect(listed.status).toBe('corrupt');
  });

  it('refuses an upload past the tenant’s storage quota with 413 and keeps no bytes', async () => {
    const used = Number(
      (
        await db.query(
          `SELECT coalesce(sum(size_bytes), 0) AS used FROM model_versions
           WHERE tenant_id = $1 AND status IN ('uploading', 'validating', 'ready', 'corrupt')`,
          [tenant.tenantId],
        )
      ).rows[0].used,
    );
    await db.query(
      `INSERT INTO tenant_quotas (tenant_id, storage_bytes, updated_at) VALUES ($1, $2, now())`,
      [tenant.tenantId, used + 100],
    );
    await api('/api/models', { method: 'POST', json: { name: 'quota' } });
    const before = await storedFiles(platform.storageRoot);
    const response = await upload('quota', gemm([1, 1, 1]));
    expect(response.status).toBe(413);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/storage quota/);
    expect(await storedFiles(platform.storageRoot)).toEqual(before);
    await db.query('DELETE FROM tenant_quotas WHERE tenant_id = $1', [tenant.tenantId]);
  });

  it('deletes versions and models: they stop serving at once, bytes leave the store', async () => {
    const prefix = join(platform.storageRoot, 'tenants', tenant.tenantId);
    const archived = await api('/api/models/iris/versions/1', { method: 'DELETE' });
    expect(archived.status).toBe(200);
    expect(await archived.json()).toMatchObject({ version: 1, status: 'archived' });
    expect((await infer('iris/versions/1')).status).toBe(404);

    const { rows } = await db.query(`SELECT id FROM models WHERE name = 'iris'`);
    const irisDir = join(prefix, 'models', rows[0].id as string);
    expect((await storedFiles(irisDir)).map((f) => f.slice(irisDir.length))).toEqual([
      '/versions/3/model.onnx',
    ]);
    expect((await api('/api/models/iris', { method: 'DELETE' })).status).toBe(204);
    expect(await storedFiles(irisDir)).toEqual([]);
    expect((await infer('iris')).status).toBe(404);
    expect((await api('/api/models/iris')).status).toBe(404);

    // The name is free again right away.
    expect((await api('/api/models', { method: 'POST', json: { name: 'iris' } })).status).toBe(201);
    expect(
      ((await (await upload('iris', gemm([0, 0, 0]))).json()) as { version: number }).version,
    ).toBe(1);
  });

  it('has the trainer sweep away bytes a crash left behind', async () => {
    await api('/api/models', { method: 'POST', json: { name: 'crashed' } });
    const version = (await (await upload('crashed', gemm([0, 0, 0]))).json()) as {
      version: number;
    };
    const { rows } = await db.query(
      `UPDATE model_versions v SET status = 'archived' FROM models m
       WHERE m.id = v.model_id AND m.name = 'crashed' AND v.number = $1
       RETURNING v.model_id`,
      [version.version],
    );
    const dir = join(platform.storageRoot, 'tenants', tenant.tenantId, 'models', rows[0].model_id);
    expect(await storedFiles(dir)).toHaveLength(1);
    const deadline = Date.now() + 15_000;
    while ((await storedFiles(dir)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await storedFiles(dir)).toEqual([]);
  });
});
