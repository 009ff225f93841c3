import { buildGemmModel, buildMlpModel, randomMlp } from '@maas/onnx';
import { AppProcess, freePort, startTestPlatform, type TestPlatform } from '@maas/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  gemm,
  GEMM_BIAS as B,
  GEMM_WEIGHTS as W,
  metricValue,
  uploadModel,
} from './serving-helpers.js';

/** An MLP 784-256-256-10 (about 1.1 MB of FP32 weights). */
const mlp = (seed: number) => buildMlpModel({ layers: randomMlp([784, 256, 256, 10], seed) });
const MLP_BYTES = mlp(1).length;

interface WorkerView {
  id: string;
  url: string;
  loadedVersions: { model: string; version: number }[];
}

describe('inference workers: batching, shedding, cache, registration, failover', () => {
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  let adminToken: string;
  let db: pg.Client;
  let extra: AppProcess | undefined;
  const auth = () => ({ 'x-api-key': key });

  const infer = (model: string, row: number[], version?: number) =>
    api(`/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, {
      method: 'POST',
      headers: auth(),
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, row.length], data: row }] },
    });

  const workers = async (): Promise<WorkerView[]> => {
    const response = await api('/api/admin/workers', {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: WorkerView[] }).items;
  };

  const setServingConfig = async (model: string, config: Record<string, number>) => {
    await db.query(
      `UPDATE model_versions SET serving_config = $1
        WHERE model_id = (SELECT id FROM models WHERE name = $2)`,
      [JSON.stringify(config), model],
    );
    await new Promise((r) => setTimeout(r, 300)); // VERSION_LOOKUP_TTL_MS
  };

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        inference: {
          BATCH_MAX_QUEUE_DELAY_MS: '40',
          VERSION_LOOKUP_TTL_MS: '200',
          // Room for the linear model and one MLP, not two MLPs (each charged its size, the
          // one tenant allowed the whole cache).
          MODEL_CACHE_BYTES: String(Math.floor(MLP_BYTES * 1.5)),
          MODEL_MEMORY_FACTOR: '1',
          MODEL_CACHE_TENANT_SHARE: '1',
          ORT_INTRA_OP_THREADS: '1',
        },
      },
    });
    api = apiFor(platform.gateway.url);
    ({ key, adminToken } = await createTenant(platform, 'workers'));
    db = new pg.Client({ connectionString: platform.database.url });
    await db.connect();
    await uploadModel(api, key, 'linear', buildGemmModel({ weights: W, bias: B }));
    await uploadModel(api, key, 'mlp-a', mlp(1));
    await uploadModel(api, key, 'mlp-b', mlp(2));
  }, 120_000);

  afterAll(async () => {
    if (process.env.SERVING_DUMP_LOGS) console.log(platform?.inference.logs.slice(-6000));
    await extra?.stop('SIGKILL');
    await db?.end();
    await platform?.stop();
  });

  it('stacks concurrent requests into one runtime call and answers each its own rows', async () => {
    await setServingConfig('linear', { maxQueueDelayMs: 150 });
    expect((await infer('linear', [0, 0, 0, 0])).status).toBe(200); // load it
    const before = await metricValue(platform.inference.opsUrl, 'maas_inference_batch_size_count');
    const rows = Array.from({ length: 12 }, (_, i) => [i, i + 1, -i, 2]);
    const responses = await Promise.all(rows.map((row) => infer('linear', row)));
    const batchSizes = responses.map((r) => Number(r.headers.get('x-maas-batch-size')));
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    for (const [i, response] of responses.entries()) {
      expect(response.status).toBe(200);
      const out = ((await response.json()) as { outputs: { data: number[] }[] }).outputs[0]!;
      out.data.forEach((v, j) => expect(v).toBeCloseTo(gemm(rows[i]!)[j]!, 4));
    }
    const calls =
      (await metricValue(platform.inference.opsUrl, 'maas_inference_batch_size_count')) - before;
    expect(calls).toBeLessThan(12);
    expect(
      await metricValue(platform.inference.opsUrl, 'maas_inference_batch_size_bucket', 'le="1"'),
    ).toBeLessThanOrEqual(1);
  });

  it('sheds requests beyond the version queue with 429 and Retry-After', async () => {
    await setServingConfig('linear', { maxBatchSize: 1, instanceConcurrency: 1, maxQueueSize: 1 });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => infer('linear', [i, 0, 0, 0])),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    // The worker's own shedding (not a tenant rate limit): its message and Retry-After.
    const shedBodies = await Promise.all(
      responses
        .filter((r) => r.status === 429)
        .map(async (r) => ({ retryAfter: r.headers.get('retry-after'), body: await r.json() })),
    );
    const shed = shedBodies.find((s) => /capacity/.test((s.body as { error: string }).error));
    expect(shed).toBeDefined();
    expect(shed!.retryAfter).toBe('1');
    expect(
      await metricValue(platform.inference.opsUrl, 'maas_inference_shed_total', 'queue_full'),
    ).toBeGreaterThan(0);
    await Promise.all(responses.map((r) => r.body?.cancel().catch(() => undefined)));
    await setServingConfig('linear', {});
  });

  it('evicts least recently used versions within the byte budget, releasing their sessions', async () => {
    const row = new Array(784).fill(0.5);
    const evictionsBefore = await metricValue(
      platform.inference.opsUrl,
      'maas_model_cache_evictions_total',
    );
    const rss: number[] = [];
    for (let cycle = 0; cycle < 10; cycle++) {
      for (const model of ['mlp-a', 'mlp-b']) {
        const response = await infer(model, row);
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
      rss.push(await metricValue(platform.inference.opsUrl, 'maas_process_resident_memory_bytes'));
    }
    const evictions =
      (await metricValue(platform.inference.opsUrl, 'maas_model_cache_evictions_total')) -
      evictionsBefore;
    expect(evictions).toBeGreaterThanOrEqual(18);
    expect(
      await metricValue(platform.inference.opsUrl, 'maas_model_cache_bytes'),
    ).toBeLessThanOrEqual(MLP_BYTES * 1.5);
    // Releasing really frees: memory does not ratchet up with every load/unload cycle.
    expect(rss[9]! - rss[2]!).toBeLessThan(40 * 1024 * 1024);
  });

  it('forwards over HTTP, not the worker link, with INFERENCE_TRANSPORT=http', async () => {
    const worker = platform.inference.opsUrl;
    const httpGateway = new AppProcess('gateway', await freePort(), {
      ...platform.gateway.env,
      INFERENCE_TRANSPORT: 'http',
    });
    await httpGateway.start();
    // Its own model: 'linear' must stay loaded on one worker only for the failover test below.
    await uploadModel(api, key, 'over-http', buildGemmModel({ weights: W, bias: B }));
    try {
      const viaHttp = apiFor(httpGateway.url);
      const linkBefore = await metricValue(worker, 'maas_inference_link_requests_total');
      const httpRoute = (route: string, status: number) =>
        metricValue(worker, 'maas_http_requests_total', `route="${route}",status="${status}"`);
      const inferRoute = '/v2/models/:model/versions/:version/infer';
      const predictRoute = '/v1/models/:model/versions/:version/predict';
      const before = [await httpRoute(inferRoute, 200), await httpRoute(inferRoute, 400)];
      const predictBefore = await httpRoute(predictRoute, 200);

      const infer = await viaHttp('/v2/models/over-http/infer', {
        method: 'POST',
        headers: auth(),
        json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] },
      });
      expect(infer.status).toBe(200);
      const out = ((await infer.json()) as { outputs: { data: number[] }[] }).outputs[0]!;
      out.data.forEach((v, j) => expect(v).toBeCloseTo(gemm([1, 2, 3, 4])[j]!, 4));
      const predict = await viaHttp('/v1/models/over-http:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [[4, 3, 2, 1]] },
      });
      expect(predict.status).toBe(200);
      const predictions = ((await predict.json()) as { predictions: number[][] }).predictions;
      predictions[0]!.forEach((v, j) => expect(v).toBeCloseTo(gemm([4, 3, 2, 1])[j]!, 4));
      const wrongShape = await viaHttp('/v2/models/over-http/infer', {
        method: 'POST',
        headers: auth(),
        json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
      });
      expect(wrongShape.status).toBe(400);
      expect(((await wrongShape.json()) as { error: string }).error).toContain('input');

      expect(await httpRoute(inferRoute, 200)).toBe(before[0]! + 1);
      expect(await httpRoute(inferRoute, 400)).toBe(before[1]! + 1);
      expect(await httpRoute(predictRoute, 200)).toBe(predictBefore + 1);
      expect(await metricValue(worker, 'maas_inference_link_requests_total')).toBe(linkBefore);
    } finally {
      await httpGateway.stop();
    }
  });

  it('spreads a version over its first `replicas` workers, each warmed before it is routed to', async () => {
    const second = new AppProcess('inference', await freePort(), { ...platform.inference.env });
    await second.start();
    try {
      await expect.poll(async () => (await workers()).length, { timeout: 10_000 }).toBe(2);
      await uploadModel(api, key, 'shared', buildGemmModel({ weights: W, bias: B }));
      const patch = await api('/api/models/shared/versions/1', {
        method: 'PATCH',
        headers: auth(),
        json: { servingConfig: { replicas: 2 } },
      });
      expect(patch.status).toBe(200);
      const served = (url: string) =>
        metricValue(url, 'maas_inference_link_requests_total', 'call="infer",status="200"');
      const loadCalls = (url: string) =>
        metricValue(url, 'maas_inference_link_requests_total', 'call="load",status="204"');
      const coldStarts = (url: string) => metricValue(url, 'maas_model_cold_start_requests_total');
      const preloads = () =>
        metricValue(platform.gateway.url, 'maas_gateway_replica_preloads_total', 'loaded');
      const holders = async () =>
        (await workers()).filter((w) => w.loadedVersions.some((v) => v.model === 'shared')).length;
      const inferShared = async () => {
        const response = await infer('shared', [1, 2, 3, 4]);
        expect(response.status).toBe(200);
        const out = ((await response.json()) as { outputs: { data: number[] }[] }).outputs[0]!;
        out.data.forEach((v, j) => expect(v).toBeCloseTo(gemm([1, 2, 3, 4])[j]!, 4));
      };
      /** Until both hold it, then ten requests: each worker serves half (taking turns). */
      const bothServe = async () => {
        await expect.poll(holders, { timeout: 10_000 }).toBe(2);
        const before = [await served(platform.inference.opsUrl), await served(second.opsUrl)];
        for (let i = 0; i < 10; i++) await inferShared();
        expect((await served(platform.inference.opsUrl)) - before[0]!).toBe(5);
        expect((await served(second.opsUrl)) - before[1]!).toBe(5);
      };
      const coldBefore = await coldStarts(platform.inference.opsUrl);
      const preloadsBefore = await preloads();

      // The first request loads it where it lands (nothing holds it anywhere)...
      await inferShared();
      await expect.poll(holders, { timeout: 10_000 }).toBe(1);
      // ...the next go to that worker while the other is sent a `load`: no request waits for
      // the second load.
      for (let i = 0; i < 5; i++) await inferShared();
      await bothServe();
      const coldAfter =
        (await coldStarts(platform.inference.opsUrl)) + (await coldStarts(second.opsUrl));
      expect(coldAfter - coldBefore).toBe(1);
      expect((await loadCalls(platform.inference.opsUrl)) + (await loadCalls(second.opsUrl))).toBe(
        1,
      );
      expect((await preloads()) - preloadsBefore).toBe(1);

      // A replica restarts (a new process, a new worker id, nothing loaded): its requests go to
      // the other replica until it has loaded the version, so none of them waits for its load.
      await second.stop();
      await second.start();
      await expect
        .poll(async () => (await workers()).map((w) => w.url).sort(), { timeout: 10_000 })
        .toEqual([platform.inference.url, second.url].sort());
      expect(await holders()).toBe(1);
      for (let i = 0; i < 10; i++) await inferShared();
      await bothServe();
      expect(await coldStarts(second.opsUrl)).toBe(0);
      expect(await loadCalls(second.opsUrl)).toBe(1);

      // The same through a gateway with INFERENCE_TRANSPORT=http: the restarted replica is
      // warmed with a signed POST .../load on the worker's HTTP port.
      const httpGateway = new AppProcess('gateway', await freePort(), {
        ...platform.gateway.env,
        INFERENCE_TRANSPORT: 'http',
      });
      await httpGateway.start();
      try {
        await second.stop();
        await second.start();
        await expect
          .poll(async () => (await workers()).map((w) => w.url).sort(), { timeout: 10_000 })
          .toEqual([platform.inference.url, second.url].sort());
        const viaHttp = apiFor(httpGateway.url);
        const inferViaHttp = async () => {
          const response = await viaHttp('/v2/models/shared/infer', {
            method: 'POST',
            headers: auth(),
            json: {
              inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
            },
          });
          expect(response.status).toBe(200);
        };
        // (Requests until that gateway's own list of workers, read every second, has it.)
        await expect
          .poll(async () => (await inferViaHttp(), holders()), { timeout: 10_000 })
          .toBe(2);
        const loadRoute = 'route="/v2/models/:model/versions/:version/load",status="204"';
        expect(
          await metricValue(second.opsUrl, 'maas_http_requests_total', loadRoute),
        ).toBeGreaterThanOrEqual(1);
        expect(await metricValue(second.opsUrl, 'maas_inference_link_requests_total')).toBe(0);
        expect(await coldStarts(second.opsUrl)).toBe(0);
      } finally {
        await httpGateway.stop();
      }
    } finally {
      await second.stop();
    }
    await expect.poll(async () => (await workers()).length, { timeout: 10_000 }).toBe(1);
  });

  it('registers workers in Redis and fails over when the one serving a version is killed', async () => {
    extra = new AppProcess('inference', await freePort(), { ...platform.inference.env });
    await extra.start();
    await expect.poll(async () => (await workers()).length, { timeout: 10_000 }).toBe(2);
    const urls = (await workers()).map((w) => w.url).sort();
    expect(urls).toEqual([platform.inference.url, extra.url].sort());

    // Warm a few versions; each stays on one worker (rendezvous hashing).
    for (const model of ['linear', 'mlp-a']) {
      const row = model === 'linear' ? [1, 1, 1, 1] : new Array(784).fill(0.1);
      for (let i = 0; i < 3; i++) expect((await infer(model, row)).status).toBe(200);
    }
    await expect
      .poll(
        async () =>
          (await workers()).flatMap((w) => w.loadedVersions.map((v) => `${w.url}:${v.model}`)),
        { timeout: 10_000 },
      )
      .toEqual(expect.arrayContaining([expect.stringContaining(':linear')]));
    const owner = (await workers()).find((w) =>
      w.loadedVersions.some((v) => v.model === 'linear'),
    )!;
    const linearHomes = (await workers()).filter((w) =>
      w.loadedVersions.some((v) => v.model === 'linear'),
    );
    expect(linearHomes).toHaveLength(1);

    const victim = owner.url === extra.url ? extra : platform.inference;
    await victim.stop('SIGKILL');
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => infer('linear', [1, 2, 3, 4])),
    );
    for (const response of responses) {
      expect(response.status, await response.clone().text()).toBe(200);
      const out = ((await response.json()) as { outputs: { data: number[] }[] }).outputs[0]!;
      out.data.forEach((v, j) => expect(v).toBeCloseTo(gemm([1, 2, 3, 4])[j]!, 4));
    }
    await expect.poll(async () => (await workers()).length, { timeout: 10_000 }).toBe(1);
  });
});
