import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { buildGemmModel } from '@maas/onnx';
import { AppProcess, freePort, startTestPlatform, type TestPlatform } from '@maas/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Tenancy end to end: isolation, keys and members, limits and quotas, metering, audit, logs.
// Two gateway processes share the database and Redis, as they would behind a load balancer.

const MODEL = Buffer.from(
  buildGemmModel({
    weights: [
      [1, 0],
      [0, 1],
    ],
    bias: [0, 0],
  }),
);
const INFER_BODY = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [3, 4] }] };

type Init = RequestInit & { json?: unknown; base?: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tenancy', () => {
  let platform: TestPlatform;
  let gateway2: AppProcess;
  let adminToken: string;
  const secrets: string[] = [];
  const a = { id: '', key: '', keyId: '' };
  const b = { id: '', key: '', keyId: '' };

  const api = (path: string, init: Init = {}) => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(`${init.base ?? platform.gateway.url}${path}`, { ...init, headers, body });
  };
  const admin = (path: string, init: Init = {}) =>
    api(path, { ...init, headers: { authorization: `Bearer ${adminToken}`, ...init.headers } });
  const withKey = (key: string, path: string, init: Init = {}) =>
    api(path, { ...init, headers: { 'x-api-key': key, ...init.headers } });
  const infer = (key: string, model: string, base?: string) =>
    withKey(key, `/v2/models/${model}/infer`, { method: 'POST', json: INFER_BODY, base });

  async function json<T = Record<string, unknown>>(response: Response, status: number) {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async function createTenant(name: string, scopes?: string[]) {
    const tenant = await json<{ id: string }>(
      await admin('/api/admin/tenants', { method: 'POST', json: { name } }),
      201,
    );
    const key = await createKey(tenant.id, { name: 'ci', scopes });
    return { id: tenant.id, key: key.key, keyId: key.id };
  }

  async function createKey(tenantId: string, body: Record<string, unknown>) {
    const key = await json<{ id: string; key: string }>(
      await admin(`/api/admin/tenants/${tenantId}/api-keys`, { method: 'POST', json: body }),
      201,
    );
    secrets.push(key.key);
    return key;
  }

  async function uploadModel(key: string, name: string) {
    await json(await withKey(key, '/api/models', { method: 'POST', json: { name } }), 201);
    await json(
      await withKey(key, `/api/models/${name}/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: MODEL,
      }),
      201,
    );
  }

  async function login(email: string, password: string) {
    const tokens = await json<{ accessToken: string; refreshToken: string }>(
      await api('/api/auth/login', { method: 'POST', json: { email, password } }),
      200,
    );
    secrets.push(tokens.accessToken, tokens.refreshToken);
    return tokens;
  }

  async function filesOf(tenantId: string): Promise<string[]> {
    const entries = await readdir(join(platform.storageRoot, 'tenants', tenantId), {
      recursive: true,
      withFileTypes: true,
    }).catch(() => []);
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  }

  /** Polls until `check` holds; returns the milliseconds it took. */
  async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
    const start = Date.now();
    while (!(await check())) {
      if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
      await sleep(25);
    }
    return Date.now() - start;
  }

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        gateway: {
          API_KEY_BURST: '1000',
          API_KEY_REQUESTS_PER_SECOND: '1000',
          // Long enough that the login test's refusal cannot depend on the machine's speed.
          LOGIN_DELAY_BASE_SECONDS: '300',
        },
      },
    });
    // A second gateway on the same database and Redis; it never flushes usage on its own timer,
    // so what it meters is still in Redis when it is killed.
    gateway2 = new AppProcess('gateway', await freePort(), {
      ...platform.gateway.env,
      USAGE_FLUSH_MS: '3600000',
    });
    await gateway2.start();
    secrets.push(platform.admin.password);
    adminToken = (await login(platform.admin.email, platform.admin.password)).accessToken;
    Object.assign(a, await createTenant('tenant-a'));
    Object.assign(b, await createTenant('tenant-b'));
    await uploadModel(a.key, 'private-a');
    await uploadModel(b.key, 'private-b');
  });

  afterAll(async () => {
    await gateway2?.stop();
    await platform?.stop();
  });

  it('answers 404 to every route that names another tenant’s object, and leaves it untouched', async () => {
    const password = `pw-${randomUUID()}`;
    secrets.push(password);
    await json(
      await admin(`/api/admin/tenants/${b.id}/users`, {
        method: 'POST',
        json: { email: 'dev@tenant-b.test', password, role: 'owner' },
      }),
      201,
    );
    const member = await login('dev@tenant-b.test', password);
    // Tenant A's objects (ids that do not exist for routes not yet served are 404 as well).
    await withKey(a.key, '/api/models/private-a/labels/production', {
      method: 'PUT',
      json: { version: 1 },
    });
    const dataset = await withKey(a.key, '/api/datasets?name=iris', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'x,y,label\n1,2,a\n2,3,b\n3,4,a\n4,5,b\n',
    });
    const datasetId =
      dataset.status === 201 ? ((await dataset.json()) as { id: string }).id : randomUUID();
    const job = await withKey(a.key, '/api/training-jobs', {
      method: 'POST',
      json: {
        datasetId,
        target: 'label',
        algorithm: 'decision_tree',
        task: 'classification',
        hyperparameters: {},
        modelName: 'tree-a',
      },
    });
    const jobId = job.status === 201 ? ((await job.json()) as { id: string }).id : randomUUID();
    const trainSpec = {
      datasetId,
      target: 'label',
      algorithm: 'decision_tree',
      task: 'classification',
      hyperparameters: {},
      modelName: 'tree-b',
    };
    const m = 'private-a';
    const matrix: [string, string, unknown?][] = [
      ['GET', `/api/models/${m}`],
      ['PATCH', `/api/models/${m}`, { description: 'taken over' }],
      ['DELETE', `/api/models/${m}`],
      ['POST', `/api/models/${m}/versions`, MODEL],
      ['GET', `/api/models/${m}/versions`],
      ['GET', `/api/models/${m}/versions/1`],
      ['PATCH', `/api/models/${m}/versions/1`, { servingConfig: null }],
      ['DELETE', `/api/models/${m}/versions/1`],
      ['GET', `/api/models/${m}/versions/1/artifact`],
      ['GET', `/api/models/${m}/versions/1/artifact?format=tfjs`],
      ['GET', `/api/models/${m}/versions/1/tree`],
      ['POST', `/api/models/${m}/versions/1/optimize`, { quantize: 'int8' }],
      ['PUT', `/api/models/${m}/labels/production`, { version: 1 }],
      ['DELETE', `/api/models/${m}/labels/production`],
      ['GET', `/api/datasets/${datasetId}`],
      ['DELETE', `/api/datasets/${datasetId}`],
      ['POST', '/api/training-jobs', trainSpec],
      ['GET', `/api/training-jobs/${jobId}`],
      ['GET', `/api/training-jobs/${jobId}/events`],
      ['POST', `/api/training-jobs/${jobId}/cancel`, {}],
      ['GET', `/v2/models/${m}`],
      ['GET', `/v2/models/${m}/versions/1`],
      ['GET', `/v2/models/${m}/ready`],
      ['GET', `/v2/models/${m}/versions/1/ready`],
      ['POST', `/v2/models/${m}/infer`, INFER_BODY],
      ['POST', `/v2/models/${m}/versions/1/infer`, INFER_BODY],
      ['GET', `/v1/models/${m}`],
      ['GET', `/v1/models/${m}/versions/1`],
      ['GET', `/v1/models/${m}/labels/production`],
      ['GET', `/v1/models/${m}/metadata`],
      ['GET', `/v1/models/${m}/versions/1/metadata`],
      ['POST', `/v1/models/${m}:predict`, { instances: [[3, 4]] }],
      ['POST', `/v1/models/${m}/versions/1:predict`, { instances: [[3, 4]] }],
      ['POST', `/v1/models/${m}/labels/production:predict`, { instances: [[3, 4]] }],
    ];
    // The matrix must cover every tenant route with an id or name in its path, as the gateway
    // lists them now: a route added later without a row here fails this test.
    const document = await json<{ paths: Record<string, Record<string, unknown>> }>(
      await api('/docs/openapi.json'),
      200,
    );
    // What the gateway serves is the committed docs/openapi.json (`npm run openapi:write`): a
    // route registered without a route spec, or a changed schema, differs from it.
    const committed = JSON.parse(
      await readFile(new URL('../docs/openapi.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(document).toEqual(committed);
    expect(JSON.stringify(document)).not.toContain('(undocumented)');
    // The interactive reference loads its own scripts only, under a policy that names them.
    const page = await api('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    for (const asset of html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)) {
      const file = await api(asset[1]);
      expect(file.status, asset[1]).toBe(200);
      expect((await file.arrayBuffer()).byteLength, asset[1]).toBeGreaterThan(0);
    }
    expect((await api('/docs/assets/..%2Fpackage.json')).status).toBe(404);
    // The inference routes, answered ahead of the router, are documented too.
    for (const template of [
      '/v2/models/{model}/infer',
      '/v2/models/{model}/versions/{version}/infer',
    ]) {
      expect(document.paths[template], template).toHaveProperty('post');
    }
    expect(Object.keys(document.paths).some((path) => path.startsWith('/v1/models/*'))).toBe(true);
    const uncovered: string[] = [];
    let checked = 0;
    for (const [template, methods] of Object.entries(document.paths)) {
      const tenantRoute =
        (template.startsWith('/api/') && !/^\/api\/(admin|auth)\//.test(template)) ||
        template.startsWith('/v1/') ||
        template.startsWith('/v2/');
      if (!tenantRoute || !/[{*]/.test(template)) continue;
      const pattern = new RegExp(
        `^${template.replace(/\{[^}]+\}/g, '[^/]+').replace(/\*/g, '.+')}$`,
      );
      for (const method of Object.keys(methods)) {
        const verb = method.toUpperCase();
        checked++;
        if (!matrix.some(([m, path]) => m === verb && pattern.test(path))) {
          uncovered.push(`${verb} ${template}`);
        }
      }
    }
    expect(uncovered).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(20);

    const failures: string[] = [];
    for (const credential of [b.key, member.accessToken]) {
      for (const [method, path, body] of matrix) {
        const init: Init = { method, headers: { authorization: `Bearer ${credential}` } };
        if (Buffer.isBuffer(body)) {
          init.body = body;
          init.headers = { ...init.headers, 'content-type': 'application/octet-stream' };
        } else if (body !== undefined) init.json = body;
        const response = await api(path, init);
        const text = await response.text();
        if (response.status !== 404) failures.push(`${method} ${path}: ${response.status} ${text}`);
      }
    }
    expect(failures).toEqual([]);
    // Nothing of A's was changed or removed by those requests, and B still reaches its own.
    const model = await json<{ description: string }>(
      await withKey(a.key, `/api/models/${m}`),
      200,
    );
    expect(model.description).not.toBe('taken over');
    await json(await withKey(a.key, `/api/models/${m}/versions/1`), 200);
    await json(await infer(a.key, m), 200);
    await json(await infer(b.key, 'private-b'), 200);
    await json(
      await api('/v2/models/private-b', {
        headers: { authorization: `Bearer ${member.accessToken}` },
      }),
      200,
    );
  });

  it('enforces key scopes and member roles', async () => {
    const readOnly = await createKey(a.id, { name: 'reader', scopes: ['models:read'] });
    await json(await withKey(readOnly.key, '/api/models'), 200);
    const denied = await withKey(readOnly.key, '/api/models', {
      method: 'POST',
      json: { name: 'nope' },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    expect((await infer(readOnly.key, 'private-a')).status).toBe(403);
    expect((await withKey(readOnly.key, '/api/usage')).status).toBe(403);

    const passwords: Record<string, string> = {};
    for (const role of ['viewer', 'developer']) {
      const password = `pw-${randomUUID()}`;
      passwords[role] = password;
      secrets.push(password);
      await json(
        await admin(`/api/admin/tenants/${a.id}/users`, {
          method: 'POST',
          json: { email: `${role}@tenant-a.test`, password, role },
        }),
        201,
      );
    }
    const viewer = await login('viewer@tenant-a.test', passwords.viewer);
    const developer = await login('developer@tenant-a.test', passwords.developer);
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    await json(await api('/api/models', { headers: as(viewer.accessToken) }), 200);
    const viewerWrite = await api('/api/models', {
      method: 'POST',
      headers: as(viewer.accessToken),
      json: { name: 'by-viewer' },
    });
    expect(viewerWrite.status).toBe(403);
    const viewerInfer = await api('/v2/models/private-a/infer', {
      method: 'POST',
      headers: as(viewer.accessToken),
      json: INFER_BODY,
    });
    expect(viewerInfer.status).toBe(403);
    const developerInfer = await api('/v2/models/private-a/infer', {
      method: 'POST',
      headers: as(developer.accessToken),
      json: INFER_BODY,
    });
    expect(developerInfer.status).toBe(200);
    // A member's token is not an admin token.
    expect((await api('/api/admin/tenants', { headers: as(developer.accessToken) })).status).toBe(
      403,
    );
  });

  it('refuses an expired key', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const key = await createKey(a.id, { name: 'short', expiresAt: expiresAt.toISOString() });
    await json(await withKey(key.key, '/api/models'), 200);
    await sleep(Math.max(0, expiresAt.getTime() - Date.now()));
    const refused = await withKey(key.key, '/api/models');
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toContain('expired');
  });

  it('makes a revoke and a tenant suspension effective within 1 s on both gateways', async () => {
    const key = await createKey(a.id, { name: 'to-revoke' });
    const bases = [platform.gateway.url, gateway2.url];
    const statuses = async (k: string) =>
      Promise.all(bases.map(async (base) => (await withKey(k, '/api/models', { base })).status));
    // Warm both gateways' caches.
    expect(await statuses(key.key)).toEqual([200, 200]);
    await json(
      await admin(`/api/admin/tenants/${a.id}/api-keys/${key.id}`, { method: 'DELETE' }),
      200,
    );
    const revokeMs = await within(1000, async () =>
      (await statuses(key.key)).every((s) => s === 401),
    );
    expect(revokeMs).toBeLessThanOrEqual(1000);

    expect(await statuses(a.key)).toEqual([200, 200]);
    const suspended = await json<{ status: string }>(
      await admin(`/api/admin/tenants/${a.id}`, { method: 'PATCH', json: { status: 'suspended' } }),
      200,
    );
    expect(suspended.status).toBe('suspended');
    await within(1000, async () => (await statuses(a.key)).every((s) => s === 403));
    await json(
      await admin(`/api/admin/tenants/${a.id}`, { method: 'PATCH', json: { status: 'active' } }),
      200,
    );
    await within(1000, async () => (await statuses(a.key)).every((s) => s === 200));

    // lastUsedAt is kept (in batches) without a write per request.
    await within(8000, async () => {
      const keys = await json<{ items: { id: string; lastUsedAt: string | null }[] }>(
        await admin(`/api/admin/tenants/${a.id}/api-keys`),
        200,
      );
      return keys.items.find((k) => k.id === a.keyId)?.lastUsedAt != null;
    });
  });

  let admittedSoFar = 0;
  let c: { id: string; key: string; keyId: string };

  it('admits exactly the burst out of 64 concurrent requests, with rate-limit headers', async () => {
    c = await createTenant('tenant-c');
    await uploadModel(c.key, 'lin');
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { requestsPerSecond: 1, burst: 10 },
      }),
      200,
    );
    const start = Date.now();
    const responses = await Promise.all(Array.from({ length: 64 }, () => infer(c.key, 'lin')));
    const elapsedS = (Date.now() - start) / 1000;
    const admitted = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(admitted.length + limited.length).toBe(64);
    // The bucket refills at 1/s, so a slow machine may admit one more per elapsed second.
    expect(admitted.length).toBeGreaterThanOrEqual(10);
    expect(admitted.length).toBeLessThanOrEqual(10 + Math.floor(elapsedS));
    for (const response of limited) {
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(response.headers.get('ratelimit-limit')).toBe('10');
      expect(response.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    }
    expect(admitted[0].headers.get('ratelimit-limit')).toBe('10');
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    admittedSoFar = admitted.length;
  });

  it('stops at the monthly request quota exactly, with a problem type saying so', async () => {
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { requestsPerSecond: 1000, burst: 1000, monthlyRequests: admittedSoFar + 20 },
      }),
      200,
    );
    await sleep(1000); // quotas are in force within a second on every gateway
    const responses = await Promise.all(Array.from({ length: 64 }, () => infer(c.key, 'lin')));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(44);
    const refused = responses.find((r) => r.status === 429)!;
    expect(((await refused.json()) as { error: string }).error).toContain('monthly');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await Promise.all(responses.map((r) => r.arrayBuffer().catch(() => undefined)));
    admittedSoFar += 20;

    // A quota on /api answers a problem document whose type names it.
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, { method: 'PUT', json: { maxModels: 1 } }),
      200,
    );
    const tooMany = await withKey(c.key, '/api/models', {
      method: 'POST',
      json: { name: 'second' },
    });
    expect(tooMany.status).toBe(429);
    const problem = (await tooMany.json()) as { type: string; status: number };
    expect(problem.type).toBe('https://maas.dev/problems/model-quota-exceeded');
    // null puts the plan default back.
    const reset = await json<{ effective: { maxModels: number } }>(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { maxModels: null, monthlyRequests: null },
      }),
      200,
    );
    expect(reset.effective.maxModels).toBe(100);
  });

  it('admits exactly the concurrent-jobs quota out of 12 simultaneous creates, and frees a slot when a job ends', async () => {
    // With the trainer stopped, queued jobs stay queued: the count is deterministic.
    await platform.trainer.stop();
    const csv = [
      'x,y,label',
      ...Array.from({ length: 12 }, (_, i) => `${i},${i % 3},${i % 2 ? 'a' : 'b'}`),
    ];
    const dataset = await json<{ id: string }>(
      await withKey(c.key, '/api/datasets?name=quota-data', {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: csv.join('\n') + '\n',
      }),
      201,
    );
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { concurrentTrainingJobs: 2 },
      }),
      200,
    );
    const spec = {
      datasetId: dataset.id,
      target: 'label',
      algorithm: 'decision_tree',
      task: 'classification',
      hyperparameters: {},
      modelName: 'quota-tree',
    };
    const CONCURRENT = 'https://maas.dev/problems/concurrent-training-jobs-exceeded';
    // Half on each gateway: the limit holds across instances, not per process.
    const create = (base?: string) =>
      withKey(c.key, '/api/training-jobs', { method: 'POST', json: spec, base });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => create(i % 2 ? gateway2.url : undefined)),
    );
    const bodies = await Promise.all(
      responses.map(async (r) => (await r.json()) as { id: string; type?: string }),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(2);
    const refused = bodies.filter((_, i) => responses[i].status === 429);
    expect(refused).toHaveLength(10);
    expect(new Set(refused.map((body) => body.type))).toEqual(new Set([CONCURRENT]));
    const admitted = bodies.filter((_, i) => responses[i].status === 201).map((body) => body.id);
    const listJobs = async () =>
      (
        await json<{ items: { id: string; status: string; error?: string }[] }>(
          await admin(`/api/admin/training-jobs?tenantId=${c.id}`),
          200,
        )
      ).items;
    expect((await listJobs()).map((job) => job.status)).toEqual(['queued', 'queued']);

    // A cancelled job gives its slot back: exactly one more is admitted.
    const cancelled = await json<{ status: string }>(
      await withKey(c.key, `/api/training-jobs/${admitted[0]}/cancel`, {
        method: 'POST',
        json: {},
      }),
      200,
    );
    expect(cancelled.status).toBe('cancelled');
    const third = await json<{ id: string }>(await create(gateway2.url), 201);
    expect((await create()).status).toBe(429);

    // A job whose gateway died between the insert and the enqueue never reaches a trainer. It
    // holds its slot only until a create at the limit finds it lost (no queue job, past a grace
    // period) and marks it failed.
    await json(
      await withKey(c.key, `/api/training-jobs/${third.id}/cancel`, { method: 'POST', json: {} }),
      200,
    );
    const client = new pg.Client({ connectionString: platform.database.url });
    await client.connect();
    try {
      const lost = await client.query<{ id: string }>(
        `INSERT INTO training_jobs (id, tenant_id, dataset_id, model_name, algorithm, task, target,
           features, status, created_at)
         VALUES (gen_random_uuid(), $1, $2, 'quota-tree', 'decision_tree', 'classification',
           'label', '{x,y}', 'queued', now() - interval '1 hour')
         RETURNING id`,
        [c.id, dataset.id],
      );
      const lostId = lost.rows[0].id;
      const fourth = await json<{ id: string }>(await create(), 201);
      const jobs = await listJobs();
      expect(jobs.find((job) => job.id === lostId)).toMatchObject({
        status: 'failed',
        error: 'lost by the training queue',
      });
      expect(
        jobs
          .filter((job) => job.status === 'queued')
          .map((job) => job.id)
          .sort(),
      ).toEqual([admitted[1], fourth.id].sort());

      // Monthly training minutes: spent, creates are refused whatever the free slots.
      await json(
        await admin(`/api/admin/tenants/${c.id}/quotas`, {
          method: 'PUT',
          json: { concurrentTrainingJobs: 10, monthlyTrainingMinutes: 1 },
        }),
        200,
      );
      await client.query('UPDATE training_jobs SET training_seconds = 60 WHERE id = $1', [
        admitted[0],
      ]);
      const spent = await create();
      expect(spent.status).toBe(429);
      expect(Number(spent.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await spent.json()) as { type: string }).type).toBe(
        'https://maas.dev/problems/monthly-training-quota-exceeded',
      );
    } finally {
      await client.end();
    }
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { monthlyTrainingMinutes: null },
      }),
      200,
    );
    expect((await create()).status).toBe(201);
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { concurrentTrainingJobs: null },
      }),
      200,
    );
  });

  it('meters usage: totals equal the requests made, by model and by key', async () => {
    const usage = async (query = '') =>
      json<{
        totals: { requests: number; rows: number; errors: number };
        items: { key: string; requests: number }[];
      }>(await withKey(c.key, `/api/usage${query}`), 200);
    await within(10_000, async () => (await usage()).totals.requests === admittedSoFar);
    const totals = (await usage()).totals;
    expect(totals.requests).toBe(admittedSoFar);
    expect(totals.rows).toBe(admittedSoFar - totals.errors);
    const byModel = await usage('?groupBy=model');
    expect(byModel.items).toEqual([
      expect.objectContaining({ key: 'lin', requests: admittedSoFar }),
    ]);
    const byKey = await usage('?groupBy=key');
    expect(byKey.items).toEqual([
      expect.objectContaining({ key: c.keyId, requests: admittedSoFar }),
    ]);
    const acrossTenants = await json<{ items: { key: string; requests: number }[] }>(
      await admin(`/api/admin/usage?groupBy=tenant`),
      200,
    );
    expect(acrossTenants.items.find((i) => i.key === c.id)?.requests).toBe(admittedSoFar);
  });

  it('keeps usage metered by a gateway that crashes before its flush', async () => {
    const before = await json<{ totals: { requests: number } }>(
      await withKey(b.key, '/api/usage'),
      200,
    );
    for (let i = 0; i < 7; i++) await json(await infer(b.key, 'private-b', gateway2.url), 200);
    // Each answer is counted in Redis before it is sent; crash before any flush to Postgres
    // (another gateway closes and flushes the killed one's open batch after
    // USAGE_OPEN_BATCH_GRACE_MS).
    await sleep(700);
    await gateway2.stop('SIGKILL');
    let seen = -1;
    await within(10_000, async () => {
      const after = await json<{ totals: { requests: number } }>(
        await withKey(b.key, '/api/usage'),
        200,
      );
      seen = after.totals.requests - before.totals.requests;
      return seen === 7;
    }).catch((error: Error) => {
      throw new Error(`${error.message}: saw ${seen} of 7 requests`);
    });
    // Restarted, it flushes nothing twice.
    await gateway2.start();
    await sleep(2500);
    const after = await json<{ totals: { requests: number } }>(
      await withKey(b.key, '/api/usage'),
      200,
    );
    expect(after.totals.requests).toBe(before.totals.requests + 7);
  });

  it('audits every mutation with who, what, which object and from where', async () => {
    const log = await json<{ items: Record<string, unknown>[]; nextCursor: string | null }>(
      await admin(`/api/admin/audit-log?tenantId=${a.id}&limit=200`),
      200,
    );
    const actions = log.items.map((e) => e.action);
    for (const action of [
      'tenants.create',
      'api-keys.create',
      'api-keys.delete',
      'tenants.update',
      'users.create',
      'models.create',
      'versions.create',
    ]) {
      expect(actions).toContain(action);
    }
    const revoke = log.items.find((e) => e.action === 'api-keys.delete')!;
    expect(revoke).toMatchObject({ actorType: 'user', targetType: 'api-keys', ip: '127.0.0.1' });
    expect(typeof revoke.targetId).toBe('string');
    const upload = log.items.find((e) => e.action === 'models.create')!;
    expect(upload).toMatchObject({ actorType: 'api-key', actorId: a.keyId });
    // Pagination walks the log newest first without repeats.
    const page1 = await json<{ items: { id: string }[]; nextCursor: string }>(
      await admin(`/api/admin/audit-log?tenantId=${a.id}&limit=3`),
      200,
    );
    const page2 = await json<{ items: { id: string }[] }>(
      await admin(`/api/admin/audit-log?tenantId=${a.id}&limit=3&cursor=${page1.nextCursor}`),
      200,
    );
    expect(page1.items).toHaveLength(3);
    expect(BigInt(page2.items[0].id)).toBeLessThan(BigInt(page1.items[2].id));
    // Append-only, even for someone with database access.
    const client = new pg.Client({ connectionString: platform.database.url });
    await client.connect();
    try {
      await expect(client.query(`UPDATE audit_log SET action = 'x'`)).rejects.toThrow(
        /append-only/,
      );
      await expect(client.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    } finally {
      await client.end();
    }
  });

  it('rotates refresh tokens and revokes the whole family when a spent one is reused', async () => {
    const first = await login(platform.admin.email, platform.admin.password);
    const refresh = (token: string) =>
      api('/api/auth/refresh', { method: 'POST', json: { refreshToken: token } });
    const second = await json<{ accessToken: string; refreshToken: string }>(
      await refresh(first.refreshToken),
      200,
    );
    secrets.push(second.accessToken, second.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await json(
      await api('/api/admin/tenants', {
        headers: { authorization: `Bearer ${second.accessToken}` },
      }),
      200,
    );
    const third = await json<{ accessToken: string; refreshToken: string }>(
      await refresh(second.refreshToken),
      200,
    );
    secrets.push(third.accessToken, third.refreshToken);
    // The first token was spent: presenting it again revokes every descendant.
    expect((await refresh(first.refreshToken)).status).toBe(401);
    expect((await refresh(third.refreshToken)).status).toBe(401);
    // Logout spends a token too.
    const other = await login(platform.admin.email, platform.admin.password);
    expect(
      (
        await api('/api/auth/logout', {
          method: 'POST',
          json: { refreshToken: other.refreshToken },
        })
      ).status,
    ).toBe(204);
    expect((await refresh(other.refreshToken)).status).toBe(401);
    // A refresh token is not an access token.
    expect(
      (
        await api('/api/admin/tenants', {
          headers: { authorization: `Bearer ${other.refreshToken}` },
        })
      ).status,
    ).toBe(401);
  });

  it('delays logins to an account from an address after its free failures, even with the right password', async () => {
    const password = `pw-${randomUUID()}`;
    secrets.push(password);
    await json(
      await admin(`/api/admin/tenants/${a.id}/users`, {
        method: 'POST',
        json: { email: 'target@tenant-a.test', password, role: 'viewer' },
      }),
      201,
    );
    const attempt = (pw: string) =>
      api('/api/auth/login', {
        method: 'POST',
        json: { email: 'target@tenant-a.test', password: pw },
      });
    // LOGIN_FAILURES_BEFORE_DELAY (5) free failures from this address, then a delay.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt(`wrong-${i}`)).status);
    expect(statuses).toEqual(Array(5).fill(401));
    const limited = await attempt(password);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { type: string }).type).toBe(
      'https://maas.dev/problems/login-attempts-exceeded',
    );
  });

  it('lists training jobs across tenants for admins only', async () => {
    const jobs = await json<{ items: { tenantId: string }[]; nextCursor: string | null }>(
      await admin('/api/admin/training-jobs?limit=10'),
      200,
    );
    expect(Array.isArray(jobs.items)).toBe(true);
    expect((await withKey(a.key, '/api/admin/training-jobs')).status).toBe(401);
  });

  it('lets an admin cancel and retry any tenant’s job (the trainer is stopped: jobs stay queued)', async () => {
    const jobs = async () =>
      (
        await json<{ items: { id: string; status: string }[] }>(
          await admin(`/api/admin/training-jobs?tenantId=${c.id}`),
          200,
        )
      ).items;
    // Room for the retried job (the test above left c at its limit of 2).
    await json(
      await admin(`/api/admin/tenants/${c.id}/quotas`, {
        method: 'PUT',
        json: { concurrentTrainingJobs: 10 },
      }),
      200,
    );
    const queued = (await jobs()).find((job) => job.status === 'queued')!;
    const post = (path: string) => admin(path, { method: 'POST', json: {} });
    const cancelled = await json<{ id: string; status: string }>(
      await post(`/api/admin/training-jobs/${queued.id}/cancel`),
      200,
    );
    expect(cancelled).toMatchObject({ id: queued.id, status: 'cancelled' });
    // A cancelled job runs again as a new job with the same spec; the old one stays cancelled.
    const retried = await json<{
      id: string;
      status: string;
      modelName: string;
      algorithm: string;
    }>(await post(`/api/admin/training-jobs/${queued.id}/retry`), 201);
    expect(retried).toMatchObject({
      status: 'queued',
      modelName: 'quota-tree',
      algorithm: 'decision_tree',
    });
    expect(retried.id).not.toBe(queued.id);
    const after = await jobs();
    expect(after.find((job) => job.id === queued.id)?.status).toBe('cancelled');
    expect(after.find((job) => job.id === retried.id)?.status).toBe('queued');
    // Only a failed or cancelled job is retried; unknown ids are 404; tenants are not admins.
    expect((await post(`/api/admin/training-jobs/${retried.id}/retry`)).status).toBe(409);
    expect((await post(`/api/admin/training-jobs/${randomUUID()}/cancel`)).status).toBe(404);
    expect((await post('/api/admin/training-jobs/not-an-id/retry')).status).toBe(404);
    const asTenant = await withKey(c.key, `/api/admin/training-jobs/${retried.id}/cancel`, {
      method: 'POST',
      json: {},
    });
    expect(asTenant.status).toBe(401);
    await json(await post(`/api/admin/training-jobs/${retried.id}/cancel`), 200);
  });

  it('shows a tenant its own limits, what it uses of each, and its own keys without secrets', async () => {
    const quotas = await json<{
      plan: string;
      month: string;
      effective: Record<string, number>;
      used: Record<string, number>;
    }>(await withKey(c.key, '/api/quotas'), 200);
    expect(quotas.month).toBe(new Date().toISOString().slice(0, 7));
    expect(quotas.effective.concurrentTrainingJobs).toBe(10);
    const active = (
      await json<{ items: { status: string }[] }>(
        await admin(`/api/admin/training-jobs?tenantId=${c.id}`),
        200,
      )
    ).items.filter((job) => job.status === 'queued' || job.status === 'running').length;
    expect(quotas.used.concurrentTrainingJobs).toBe(active);
    expect(quotas.used.storageBytes).toBeGreaterThan(0);
    const keys = await json<{ items: { id: string; prefix: string }[] }>(
      await withKey(c.key, '/api/api-keys'),
      200,
    );
    expect(keys.items.map((key) => key.id)).toContain(c.keyId);
    expect(keys.items.map((key) => key.id)).not.toContain(a.keyId);
    expect(JSON.stringify(keys)).not.toContain(c.key);
    expect((await api('/api/quotas')).status).toBe(401);
  });

  it('answers 503 on limited routes, never unlimited access, when Redis is unreachable', async () => {
    // A gateway whose Redis connection goes through a proxy the test can cut.
    const redisUrl = new URL(platform.redisUrl);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(redisUrl.port), redisUrl.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    const gateway3 = new AppProcess('gateway', await freePort(), {
      ...platform.gateway.env,
      REDIS_URL: `redis://127.0.0.1:${proxyPort}${redisUrl.pathname}`,
    });
    try {
      await gateway3.start();
      await json(await infer(a.key, 'private-a', gateway3.url), 200);
      proxy.close();
      for (const socket of sockets) socket.destroy();
      const started = Date.now();
      const refused = await infer(a.key, 'private-a', gateway3.url);
      expect(refused.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5000);
      const listing = await withKey(a.key, '/api/models', { base: gateway3.url });
      expect(listing.status).toBe(503);
      expect(listing.headers.get('content-type')).toContain('application/problem+json');
    } finally {
      await gateway3.stop('SIGKILL');
      proxy.close();
    }
  });

  it('deletes a tenant: its keys stop at once and its id is gone', async () => {
    await json(await infer(b.key, 'private-b'), 200);
    expect((await filesOf(b.id)).length).toBeGreaterThan(0);
    const deleted = await admin(`/api/admin/tenants/${b.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await within(1000, async () => (await withKey(b.key, '/api/models')).status === 401);
    expect((await admin(`/api/admin/tenants/${b.id}`)).status).toBe(404);
    // Its stored bytes went with it.
    expect(await filesOf(b.id)).toEqual([]);
  });

  it('never writes a secret (API key, password, JWT) to any log', async () => {
    const logs = [platform.gateway, platform.inference, platform.trainer, gateway2]
      .map((app) => app.logs)
      .join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    const leaked = secrets.filter(
      (secret) => logs.includes(secret) || logs.includes(secret.slice(-40)),
    );
    expect(leaked).toEqual([]);
  });
});
