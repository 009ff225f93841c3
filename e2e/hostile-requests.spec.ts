import { buildGemmModel } from '@maas/onnx';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  GEMM_BIAS as B,
  GEMM_WEIGHTS as W,
  GEMM_WEIGHTS_DOUBLED as W2,
  uploadModel,
} from './serving-helpers.js';

const FLUSH_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A tenant's request can neither poison what other tenants share nor cost more than it sent. */
describe('hostile requests through the gateway: decode bombs, poisoned names, canary splits', () => {
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  let adminToken: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { gateway: { USAGE_FLUSH_MS: String(FLUSH_MS) } } });
    api = apiFor(platform.gateway.url);
    ({ key, adminToken } = await createTenant(platform, 'hostile'));
    await uploadModel(api, key, 'linear', buildGemmModel({ weights: W, bias: B }));
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  const infer = (model: string, body: unknown, headers: Record<string, string> = {}) =>
    api(`/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'x-api-key': key, ...headers },
      ...(Buffer.isBuffer(body) ? { body } : { json: body }),
    });
  const oneRow = {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
  };
  const errorOf = async (response: Response) =>
    ((await response.json()) as { error: string }).error;
  /** The worker process is alive and still serves. */
  const expectWorkerServes = async () => {
    expect(() => process.kill(platform.inference.pid!, 0)).not.toThrow();
    expect((await fetch(`${platform.inference.opsUrl}/readyz`)).status).toBe(200);
    const served = await infer('linear', oneRow);
    expect(served.status).toBe(200);
    expect(((await served.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual([
      7.5, -10.5, 4.5,
    ]);
  };

  describe('decode cost is bounded before allocating', () => {
    it('answers 400 to shape bombs, and the worker keeps serving', async () => {
      const bombs: [unknown, RegExp][] = [
        // The 90-byte body from the report: not the model's input, refused from its name.
        [
          { inputs: [{ name: 'x', datatype: 'FP32', shape: [30_000_000], data: [1] }] },
          /^input 'x': the model has no such input/,
        ],
        // The right input: refused for what the body can carry, before the data is flattened.
        [
          { inputs: [{ name: 'input', datatype: 'FP32', shape: [1_000_000, 4], data: [[1]] }] },
          /^input 'input': shape \[1000000,4\] holds 4000000 elements but \d+ bytes of JSON can carry at most \d+$/,
        ],
        // Past the worker's cap (MAX_ELEMENTS_PER_REQUEST, 16 Mi by default).
        [
          { inputs: [{ name: 'input', datatype: 'FP32', shape: [7_500_000, 4], data: [[1]] }] },
          /^input 'input': the request's inputs hold 30000000 elements by their shapes, more than the 16777216/,
        ],
        // Wrong datatype: refused from the version's signature.
        [
          { inputs: [{ name: 'input', datatype: 'BYTES', shape: [7_500_000, 4], data: ['a'] }] },
          /^input 'input': expected datatype FP32, got BYTES$/,
        ],
      ];
      for (const [body, message] of bombs) {
        const response = await infer('linear', body);
        expect(response.status).toBe(400);
        expect(await errorOf(response)).toMatch(message);
      }
      // The binary extension: a BYTES shape its bytes cannot carry, and a fixed-size one.
      const binary = (input: object, data: Buffer) => {
        const header = Buffer.from(JSON.stringify({ inputs: [input] }));
        return infer('linear', Buffer.concat([header, data]), {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        });
      };
      const fixed = await binary(
        {
          name: 'input',
          datatype: 'FP32',
          shape: [2_000_000, 4],
          parameters: { binary_data_size: 32_000_000 },
        },
        Buffer.alloc(16),
      );
      expect(fixed.status).toBe(400);
      expect(await errorOf(fixed)).toMatch(/add up to 32000000 bytes but the body carries 16/);
      // TF Serving: instance 0's row times thousands of tiny instances.
      const row = `[${[1, 2, 3, 4].join(',')}]`;
      const predict = await api('/v1/models/linear:predict', {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: `{"instances":[{"input":${row}}${',{"input":1}'.repeat(20_000)}]}`,
      });
      expect(predict.status).toBe(400);
      await expectWorkerServes();
    });

    it("honours a version's own element cap (serving_config.maxElementsPerRequest)", async () => {
      await uploadModel(api, key, 'capped', buildGemmModel({ weights: W, bias: B }));
      const patched = await api('/api/models/capped/versions/1', {
        method: 'PATCH',
        headers: { 'x-api-key': key },
        json: { servingConfig: { maxElementsPerRequest: 8 } },
      });
      expect(patched.status).toBe(200);
      const rows = (n: number) => ({
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [n, 4], data: new Array(4 * n).fill(1) },
        ],
      });
      expect((await infer('capped', rows(2))).status).toBe(200);
      const over = await infer('capped', rows(3));
      expect(over.status).toBe(400);
      expect(await errorOf(over)).toMatch(/hold 12 elements by their shapes, more than the 8/);
      const predict = await api('/v1/models/capped:predict', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: {
          instances: [
            [1, 2, 3, 4],
            [1, 2, 3, 4],
            [1, 2, 3, 4],
          ],
        },
      });
      expect(predict.status).toBe(400);
      expect(await errorOf(predict)).toMatch(/hold 12 elements, more than the 8/);
      // Other versions keep the worker's default.
      expect((await infer('linear', rows(3))).status).toBe(200);
    });
  });

  describe('metering is never poisoned', () => {
    it('answers 400/404 to control characters in a model name on every route, never 500', async () => {
      const auth = { 'x-api-key': key };
      const attempts: [string, string, unknown?][] = [];
      for (const name of ['%00', 'a%00b', '%0A', '%1F', '%7F']) {
        attempts.push(
          ['POST', `/v2/models/${name}/infer`, oneRow],
          ['POST', `/v2/models/${name}/versions/1/infer`, oneRow],
          ['POST', `/v1/models/${name}:predict`, { instances: [[1, 2, 3, 4]] }],
          ['POST', `/v1/models/linear/labels/${name}:predict`, { instances: [[1, 2, 3, 4]] }],
          ['GET', `/v1/models/${name}`],
          ['GET', `/v2/models/${name}`],
          ['GET', `/v2/models/${name}/ready`],
          ['GET', `/v2/models/${name}/versions/1`],
          ['GET', `/api/models/${name}`],
          ['GET', `/api/models/${name}/versions`],
          ['PATCH', `/api/models/${name}`, { description: 'x' }],
          ['DELETE', `/api/models/${name}`],
          ['PUT', `/api/models/linear/labels/${name}`, { version: 1 }],
          ['GET', `/api/models?cursor=${name}`],
          ['GET', `/api/datasets/${name}`],
        );
      }
      // In a body, where no URL check applies: refused by the validators or the database (400).
      attempts.push(
        ['POST', '/api/models', { name: 'a\u0000' }],
        ['PATCH', '/api/models/linear', { description: 'nul \u0000 byte' }],
        ['PATCH', '/api/models/linear', { metadata: { note: 'nul \u0000 byte' } }],
      );
      for (const [method, path, body] of attempts) {
        const response = await api(path, {
          method,
          headers: auth,
          ...(body === undefined ? {} : { json: body }),
        });
        expect([400, 404], `${method} ${path} answered ${response.status}`).toContain(
          response.status,
        );
        const text = await response.text();
        expect(text).not.toMatch(/prisma|invocation/i);
      }
      // Bodies of /v1 and /v2 errors keep the inference protocols' shape.
      const nul = await infer('%00', oneRow);
      expect(nul.status).toBe(400);
      expect(await errorOf(nul)).toMatch(/control character/);
    });

    it("keeps flushing other tenants' usage after a NUL-named request", async () => {
      const other = await createTenant(platform, 'bystander');
      await uploadModel(api, other.key, 'linear', buildGemmModel({ weights: W, bias: B }));
      // The hostile requests: a NUL in the name (refused before metering), and names no model
      // has, which are metered under the name the registry resolved: none ('').
      expect((await infer('%00', oneRow)).status).toBe(400);
      expect((await infer('%E2%80%8B', oneRow)).status).toBe(404);
      const tfs = await api('/v1/models/%00:predict', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: { instances: [[1, 2, 3, 4]] },
      });
      expect(tfs.status).toBe(404);
      const usage = async (apiKey: string, query = '') => {
        const response = await api(`/api/usage${query}`, { headers: { 'x-api-key': apiKey } });
        expect(response.status).toBe(200);
        return (await response.json()) as {
          totals: { requests: number };
          items: { key: string; requests: number }[];
        };
      };
      const before = (await usage(other.key)).totals.requests;
      for (let i = 0; i < 5; i++) {
        const response = await api('/v2/models/linear/infer', {
          method: 'POST',
          headers: { 'x-api-key': other.key },
          json: oneRow,
        });
        expect(response.status).toBe(200);
      }
      // Within two flush intervals (plus the 200 ms in-memory buffer) of the last answer.
      const deadline = Date.now() + 2 * FLUSH_MS + 500;
      let seen = 0;
      while (Date.now() < deadline) {
        seen = (await usage(other.key)).totals.requests - before;
        if (seen === 5) break;
        await sleep(100);
      }
      expect(seen).toBe(5);
      // The hostile tenant's own requests are counted too, never under the raw URL segment.
      const byModel = (await usage(key, '?groupBy=model')).items.map((item) => item.key);
      expect(byModel).toContain('');
      expect(byModel.some((name) => name.includes('\u0000') || name.includes('\u200b'))).toBe(
        false,
      );
      const metrics = await (await fetch(`${platform.gateway.url}/metrics`)).text();
      expect(metrics).toContain('# TYPE maas_usage_quarantined_total counter');
      expect(metrics).not.toMatch(/^maas_usage_quarantined_total\{[^}]*\} [1-9]/m);
    });
  });

  describe('weighted labels split traffic per request', () => {
    it('sends 80/20 of 1,000 requests to the versions of an 80/20 label (±5 points)', async () => {
      const tenant = await createTenant(platform, 'canary');
      const quotas = await api(`/api/admin/tenants/${tenant.tenantId}/quotas`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminToken}` },
        json: { requestsPerSecond: 10_000, burst: 10_000 },
      });
      expect(quotas.status).toBe(200);
      await uploadModel(api, tenant.key, 'canary', buildGemmModel({ weights: W, bias: B }));
      await uploadModel(api, tenant.key, 'canary', buildGemmModel({ weights: W2, bias: B }));
      const label = await api('/api/models/canary/labels/production', {
        method: 'PUT',
        headers: { 'x-api-key': tenant.key },
        json: { versions: { '1': 80, '2': 20 } },
      });
      expect(label.status).toBe(200);
      const counts: Record<string, number> = {};
      for (let i = 0; i < 1000; i++) {
        const response = await api('/v2/models/canary/infer', {
          method: 'POST',
          headers: { 'x-api-key': tenant.key },
          json: oneRow,
        });
        expect(response.status).toBe(200);
        const answer = (await response.json()) as {
          model_version: string;
          outputs: { data: number[] }[];
        };
        // The version named is the one that answered: v2's weights are doubled.
        expect(answer.outputs[0]!.data[0]).toBe(answer.model_version === '1' ? 7.5 : 14.5);
        counts[answer.model_version] = (counts[answer.model_version] ?? 0) + 1;
      }
      expect(Object.keys(counts).sort()).toEqual(['1', '2']);
      expect(counts['2']!).toBeGreaterThanOrEqual(150);
      expect(counts['2']!).toBeLessThanOrEqual(250);
    });
  });
});
