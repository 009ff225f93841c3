import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildGemmModel } from '@maas/onnx';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEMM_BIAS as B, GEMM_WEIGHTS as W, gemm } from './serving-helpers.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('platform walkthrough: admin → tenant → key → upload → infer', () => {
  let platform: TestPlatform;
  let api: (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response>;
  let adminToken: string;
  let tenantA: { id: string; key: string };
  let tenantB: { id: string; key: string };

  beforeAll(async () => {
    // The worker writes its per-request line at debug (the gateway's access log has it at info).
    platform = await startTestPlatform({ env: { inference: { LOG_LEVEL: 'debug' } } });
    api = (path, init = {}) => {
      const headers = new Headers(init.headers);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(`${platform.gateway.url}${path}`, { ...init, headers, body });
    };
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('logs the admin in and refuses a wrong password', async () => {
    const wrong = await api('/api/auth/login', {
      method: 'POST',
      json: { email: platform.admin.email, password: 'not-the-password' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');

    const response = await api('/api/auth/login', { method: 'POST', json: platform.admin });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as { accessToken: string; refreshToken: string };
    expect(tokens.accessToken.split('.')).toHaveLength(3);
    expect(tokens.refreshToken).not.toBe(tokens.accessToken);
    adminToken = tokens.accessToken;
  });

  it('creates two tenants with an API key each (secret shown once)', async () => {
    const auth = { authorization: `Bearer ${adminToken}` };
    const created: { id: string; key: string }[] = [];
    for (const name of ['acme', 'globex']) {
      const tenant = await api('/api/admin/tenants', {
        method: 'POST',
        headers: auth,
        json: { name },
      });
      expect(tenant.status).toBe(201);
      const { id } = (await tenant.json()) as { id: string };
      const key = await api(`/api/admin/tenants/${id}/api-keys`, {
        method: 'POST',
        headers: auth,
        json: { name: 'ci' },
      });
      expect(key.status).toBe(201);
      const body = (await key.json()) as { key: string; prefix: string; scopes: string[] };
      expect(body.key.startsWith(`${body.prefix}_`)).toBe(true);
      expect(body.scopes).toEqual(['infer', 'models:read', 'models:write', 'train', 'usage:read']);
      created.push({ id, key: body.key });
    }
    [tenantA, tenantB] = created;

    const list = await api(`/api/admin/tenants/${tenantA.id}/api-keys`, { headers: auth });
    const keys = (await list.json()) as { items: Record<string, unknown>[] };
    expect(keys.items).toHaveLength(1);
    expect(JSON.stringify(keys.items)).not.toContain(tenantA.key.split('_').pop());

    const duplicate = await api('/api/admin/tenants', {
      method: 'POST',
      headers: auth,
      json: { name: 'acme' },
    });
    expect(duplicate.status).toBe(409);
    const noToken = await api('/api/admin/tenants');
    expect(noToken.status).toBe(401);
    const apiKeyIsNotAdmin = await api('/api/admin/tenants', {
      headers: { authorization: `Bearer ${tenantA.key}` },
    });
    expect(apiKeyIsNotAdmin.status).toBe(401);
    const missing = await api('/api/admin/tenants/not-a-uuid', { headers: auth });
    expect(missing.status).toBe(404);
  });

  it('uploads an ONNX model and serves it through /v2 with the right numbers', async () => {
    const create = await api('/api/models', {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key },
      json: { name: 'linear', description: 'Gemm 4->3' },
    });
    expect(create.status).toBe(201);

    const upload = await api('/api/models/linear/versions', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tenantA.key}`,
        'content-type': 'application/octet-stream',
      },
      body: Buffer.from(buildGemmModel({ weights: W, bias: B })),
    });
    expect(upload.status).toBe(201);
    const version = (await upload.json()) as Record<string, unknown>;
    expect(version).toMatchObject({
      model: 'linear',
      version: 1,
      status: 'ready',
      format: 'onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
    });
    expect(version.sha256).toMatch(/^[0-9a-f]{64}$/);

    const rows = [
      [1, 2, 3, 4],
      [-1, 0.5, 0, 2],
    ];
    const infer = await api('/v2/models/linear/versions/1/infer', {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key, 'x-request-id': 'walkthrough-1' },
      json: {
        id: 'req-7',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: rows }],
      },
    });
    expect(infer.status).toBe(200);
    expect(infer.headers.get('x-request-id')).toBe('walkthrough-1');
    const result = (await infer.json()) as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
    };
    expect(result.model_name).toBe('linear');
    expect(result.model_version).toBe('1');
    expect(result.id).toBe('req-7');
    expect(result.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [2, 3] });
    const want = rows.flatMap((row) => gemm(row));
    result.outputs[0].data.forEach((value, i) => expect(value).toBeCloseTo(want[i], 5));

    // Unversioned: the newest ready version.
    const latest = await api('/v2/models/linear/infer', {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key },
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }] },
    });
    expect(latest.status).toBe(200);
    const latestBody = (await latest.json()) as { outputs: { data: number[] }[] };
    latestBody.outputs[0].data.forEach((value, i) => expect(value).toBeCloseTo(B[i], 5));

    const metadata = await api('/v2/models/linear', { headers: { 'x-api-key': tenantA.key } });
    expect(await metadata.json()).toMatchObject({
      name: 'linear',
      versions: ['1'],
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    });
    const getVersion = await api('/api/models/linear/versions/1', {
      headers: { 'x-api-key': tenantA.key },
    });
    expect(getVersion.status).toBe(200);
    expect(((await getVersion.json()) as { sizeBytes: number }).sizeBytes).toBeGreaterThan(0);
  });

  it('refuses a wrong key with 401 and hides another tenant’s model with 404', async () => {
    const body = {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }],
    };
    const wrongKey = await api('/v2/models/linear/infer', {
      method: 'POST',
      headers: { 'x-api-key': 'maas_live_AAAAAAAAAAAA_' + 'x'.repeat(40) },
      json: body,
    });
    expect(wrongKey.status).toBe(401);
    expect(await wrongKey.json()).toHaveProperty('error');
    const noKey = await api('/v2/models/linear/infer', { method: 'POST', json: body });
    expect(noKey.status).toBe(401);

    const foreign = await api('/v2/models/linear/infer', {
      method: 'POST',
      headers: { 'x-api-key': tenantB.key },
      json: body,
    });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual({ error: "model 'linear' not found" });
    for (const path of [
      '/v2/models/linear',
      '/v2/models/linear/versions/1',
      '/api/models/linear',
      '/api/models/linear/versions/1',
    ]) {
      const response = await api(path, { headers: { 'x-api-key': tenantB.key } });
      expect(response.status, path).toBe(404);
    }
    const unknown = await api('/v2/models/nope/infer', {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key },
      json: body,
    });
    expect(unknown.status).toBe(404);
  });

  it('answers malformed and mismatched infer bodies with 400 {"error"}', async () => {
    const cases: [string, string][] = [
      ['{"inputs": [', 'json'],
      [
        JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3] }],
        }),
        'input',
      ],
      [
        JSON.stringify({
          inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }],
        }),
        'input',
      ],
      [
        JSON.stringify({
          inputs: [{ name: 'other', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
        }),
        'other',
      ],
      [
        JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }],
        }),
        'input',
      ],
      [JSON.stringify({ nothing: true }), 'inputs'],
    ];
    for (const [body, mention] of cases) {
      const response = await api('/v2/models/linear/versions/1/infer', {
        method: 'POST',
        headers: { 'x-api-key': tenantA.key, 'content-type': 'application/json' },
        body,
      });
      expect(response.status, body).toBe(400);
      const error = (await response.json()) as { error: string };
      expect(error.error, body).toEqual(expect.any(String));
      expect(error.error.toLowerCase(), body).toContain(mention.toLowerCase());
    }
  });

  it('rejects a garbage upload with 4xx: a failed version with its reason, no bytes in storage', async () => {
    const before = await listFiles(platform.storageRoot);
    for (const garbage of [Buffer.from('this is not an onnx model'), Buffer.alloc(0)]) {
      const response = await api('/api/models/linear/versions', {
        method: 'POST',
        headers: { 'x-api-key': tenantA.key, 'content-type': 'application/octet-stream' },
        body: garbage,
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(((await response.json()) as { detail: string }).detail).toMatch(/model/i);
    }
    expect(await listFiles(platform.storageRoot)).toEqual(before);
    const client = new pg.Client({ connectionString: platform.database.url });
    await client.connect();
    try {
      // The non-empty garbage took a number and failed; the empty body was refused up front.
      const { rows } = await client.query(
        'SELECT number, status, status_reason FROM model_versions ORDER BY number',
      );
      expect(rows).toEqual([
        { number: 1, status: 'ready', status_reason: null },
        { number: 2, status: 'failed', status_reason: expect.stringMatching(/ONNX model/) },
      ]);
    } finally {
      await client.end();
    }
  });

  it('accepts a multipart upload as the next version', async () => {
    const form = new FormData();
    form.append('file', new Blob([buildGemmModel({ weights: W, bias: [0, 0, 0] })]), 'model.onnx');
    const response = await api('/api/models/linear/versions', {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key },
      body: form,
    });
    expect(response.status).toBe(201);
    const version = (await response.json()) as { version: number };
    expect(version.version).toBeGreaterThan(1);
    const list = await api('/api/models/linear/versions', {
      headers: { 'x-api-key': tenantA.key },
    });
    const { items } = (await list.json()) as { items: { version: number; status: string }[] };
    expect(items.map((v) => v.status)).toEqual(['ready', 'failed', 'ready']);
  });

  it('runs a health job through BullMQ on the trainer', async () => {
    const response = await api('/api/admin/trainer/ping', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { trainerId: string; backend: string };
    expect(result.trainerId).toMatch(/:\d+$/);
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(result.backend);
  });

  it('serves health, readiness and metrics on every app, and logs the request id on both hops', async () => {
    for (const app of [platform.gateway, platform.inference, platform.trainer]) {
      // A worker serves them on its ops port (opsUrl); its inference port only the gateway.
      expect((await fetch(`${app.opsUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${app.opsUrl}/readyz`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`${app.opsUrl}/metrics`)).text();
      expect(metrics).toContain('maas_process_cpu_seconds_total');
    }
    // The access log is buffered: its lines come out within ACCESS_LOG_FLUSH_MS.
    await expect
      .poll(() => platform.gateway.logLines().some((l) => l.requestId === 'walkthrough-1'))
      .toBe(true);
    const gatewayLines = platform.gateway.logLines().filter((l) => l.requestId === 'walkthrough-1');
    const workerLines = platform.inference
      .logLines()
      .filter((l) => l.requestId === 'walkthrough-1');
    expect(gatewayLines.length).toBeGreaterThan(0);
    expect(workerLines.length).toBeGreaterThan(0);
    expect(platform.gateway.logs).not.toContain(tenantA.key);
    expect(platform.gateway.logs).not.toContain(platform.admin.password);
  });
});
