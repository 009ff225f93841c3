import { buildMlpModel, randomMlp } from '@maas/onnx';
import {
  adminToken,
  createTenantWithKey,
  gatewayFetch,
  startTestPlatform,
  type TestPlatform,
  uploadModelVersion,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './serving-helpers.js';

const REQUESTS = 40;
const REQUEST_ID = 'metrics-probe-7f3a';

describe('operations: Prometheus metrics after real traffic', () => {
  let platform: TestPlatform;
  let key: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { gateway: { USAGE_FLUSH_MS: '500' } } });
    ({ key } = await createTenantWithKey(platform, 'metrics'));
    await uploadModelVersion(
      platform,
      key,
      'mlp',
      buildMlpModel({ layers: randomMlp([8, 16, 4], 3) }),
    );
    const body = {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    };
    const statuses = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const response = await gatewayFetch(platform, '/v2/models/mlp/infer', {
          method: 'POST',
          headers: { 'x-api-key': key, ...(i === 0 ? { 'x-request-id': REQUEST_ID } : {}) },
          json: body,
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses).toEqual(Array(REQUESTS).fill(200));
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('counts inference latency by stage, batch sizes and cache loads on the worker', async () => {
    const worker = platform.inference.opsUrl;
    const batches = await metricValue(worker, 'maas_inference_batch_size_count');
    const rowsBatched = await metricValue(worker, 'maas_inference_batch_size_sum');
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThanOrEqual(REQUESTS);
    expect(rowsBatched).toBe(REQUESTS);
    // Queueing and batch wait are per request; compute is per runtime call (one per batch).
    const perStage = { queue: REQUESTS, batch_wait: REQUESTS, compute: batches };
    for (const [stage, count] of Object.entries(perStage)) {
      expect(await metricValue(worker, `maas_inference_${stage}_seconds_count`), stage).toBe(count);
      const seconds = await metricValue(worker, `maas_inference_${stage}_seconds_sum`);
      expect(seconds, stage).toBeGreaterThanOrEqual(0);
      expect(seconds, stage).toBeLessThan(REQUESTS * 5);
    }
    expect(await metricValue(worker, 'maas_model_cache_loads_total', 'result="ok"')).toBe(1);
    expect(await metricValue(worker, 'maas_model_cache_bytes')).toBeGreaterThan(0);
    expect(await metricValue(worker, 'maas_inference_in_flight')).toBe(0);
    // The gateway sent every request over the worker link, none over HTTP.
    expect(
      await metricValue(worker, 'maas_inference_link_requests_total', 'call="infer",status="200"'),
    ).toBe(REQUESTS);
    expect(await metricValue(worker, 'maas_inference_link_request_duration_seconds_count')).toBe(
      REQUESTS,
    );
    expect(await metricValue(worker, 'maas_inference_link_connections')).toBe(1);
    expect(
      await metricValue(worker, 'maas_http_requests_total', 'route="/v2/models/:model/versions'),
    ).toBe(0);
  });

  it('counts gateway requests by route template, never by request id or raw model name', async () => {
    const gateway = platform.gateway.url;
    expect(
      await metricValue(
        gateway,
        'maas_http_requests_total',
        'route="/v2/models/:model/infer",status="200"',
      ),
    ).toBe(REQUESTS);
    for (const app of [platform.gateway, platform.inference]) {
      const text = await (await fetch(`${app.opsUrl}/metrics`)).text();
      expect(text).not.toContain(REQUEST_ID);
      expect(text).not.toContain('route="/v2/models/mlp');
    }
    // Inference is answered ahead of Fastify's router, and logged like every other route (the
    // access log is buffered: its lines come out within ACCESS_LOG_FLUSH_MS).
    const inferLines = () =>
      platform.gateway
        .logLines()
        .filter((line) => line.msg === 'request' && line.route === '/v2/models/:model/infer');
    await expect.poll(() => inferLines().length).toBe(REQUESTS);
    const logged = inferLines();
    expect(logged.find((line) => line.requestId === REQUEST_ID)).toMatchObject({
      method: 'POST',
      url: '/v2/models/mlp/infer',
      status: 200,
    });
    expect(new Set(logged.map((line) => line.requestId)).size).toBe(REQUESTS);
  });

  it('exposes usage flush lag, rate-limit rejections and the training queue', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const lag = await metricValue(platform.gateway.url, 'maas_usage_flush_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(5);

    const token = await adminToken(platform);
    const limited = await createTenantWithKey(platform, 'limited', { token });
    const quotas = await gatewayFetch(platform, `/api/admin/tenants/${limited.tenantId}/quotas`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      json: { requestsPerSecond: 1, burst: 1 },
    });
    expect(quotas.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await gatewayFetch(platform, '/v2/models/none/infer', {
        method: 'POST',
        headers: { 'x-api-key': limited.key },
        json: {},
      });
      statuses.push(response.status);
    }
    const refused = statuses.filter((s) => s === 429).length;
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(await metricValue(platform.gateway.url, 'maas_rate_limit_rejections_total')).toBe(
      refused,
    );

    const ping = await gatewayFetch(platform, '/api/admin/trainer/ping', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trainer-probe-51' },
    });
    expect(ping.status).toBe(200);
    // The request id travels into the job and the trainer's log line.
    expect(platform.trainer.logLines().some((l) => l.requestId === 'trainer-probe-51')).toBe(true);
    const trainerMetrics = await (await fetch(`${platform.trainer.url}/metrics`)).text();
    expect(trainerMetrics).toMatch(
      /^maas_training_queue_jobs\{state="waiting",app="trainer"\} 0$/m,
    );
  });
});
