import { createRedis } from '@maas/app-runtime';
import { buildGemmModel } from '@maas/onnx';
import {
  AppProcess,
  freePort,
  type PrivatePostgres,
  type PrivateRedis,
  type TestPlatform,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePlatform, startPrivatePlatform } from './private-platform-helpers.js';
import { type Api, apiFor, createTenant, uploadModel } from './serving-helpers.js';
import {
  finished,
  startTrainingJob,
  syntheticCsv,
  uploadDataset,
  waitFor,
  waitForJob,
} from './training-helpers.js';

/**
 * Fault injection on the real platform (gateway, two inference workers, trainer) with a
 * PostgreSQL and a Redis of its own, under steady inference load: one fault after another, each
 * on a model of its own so that /api/usage (grouped by model) counts each fault's traffic.
 */

const W = [
  [1, 0],
  [0, 1],
];
const B = [0.5, -0.5];
const STALE_IF_ERROR_MS = 300_000;
/**
 * How often a gateway adds refused and failed requests' counts to Redis. Successes are counted
 * there before they are answered (USAGE_RECORDED_BEFORE_ANSWER, the default), so a kill -9 of
 * the gateway loses none of them.
 */
const USAGE_BUFFER_MS = 200;

/** What one load run saw: statuses by count, successes, network errors (gateway down). */
interface LoadFigures {
  requests: number;
  ok: number;
  statuses: Record<string, number>;
  /** When each success was received (Date.now()), in order. */
  okAt: number[];
  /** The first answers that were not 200 (status and body, up to 5): what a failure said. */
  failed: string[];
}

describe('fault tolerance: dependency outages and crashes under load', () => {
  let postgres: PrivatePostgres;
  let redis: PrivateRedis;
  let services: PrivatePlatform;
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  let adminToken: string;
  let gateway: AppProcess;
  const extraApps: AppProcess[] = [];
  /** Every HTTP status any request in this file got (a 500 anywhere fails the suite). */
  const allStatuses: number[] = [];
  /** Successful inferences per model, to compare with /api/usage after recovery. */
  const served = new Map<string, number>();
  /**
   * Per model, how many requests may be counted without their client having the answer: those
   * counted in Redis but cut by the gateway's kill before they were sent (one per client).
   */
  const mayBeCutAfterCounting = new Map<string, number>();
  /** A tenant whose monthly quota is spent (the Redis-wipe fault). */
  let quotaKey: string;

  const gw = (path: string, init?: Parameters<Api>[1]) =>
    fetch(`${gateway.url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...init?.headers },
      body: init?.json !== undefined ? JSON.stringify(init.json) : init?.body,
    }).then((response) => {
      allStatuses.push(response.status);
      return response;
    });

  const infer = async (model: string) => {
    const response = await gw(`/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] },
    });
    if (response.status === 200) served.set(model, (served.get(model) ?? 0) + 1);
    return response;
  };

  /** `clients` loops sending inference for `model` until the returned stop() is called. */
  const startLoad = (model: string, clients = 3) => {
    const figures: LoadFigures = { requests: 0, ok: 0, statuses: {}, okAt: [], failed: [] };
    let running = true;
    const loops = Array.from({ length: clients }, async () => {
      while (running) {
        let status: string;
        try {
          const response = await infer(model);
          status = String(response.status);
          const body = await response.text();
          if (response.status !== 200 && figures.failed.length < 5) {
            figures.failed.push(`${status} ${body.slice(0, 300)}`);
          }
          if (response.status === 200) {
            figures.ok += 1;
            figures.okAt.push(Date.now());
          }
        } catch {
          status = 'network';
          await new Promise((r) => setTimeout(r, 50));
        }
        figures.requests += 1;
        figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
      }
    });
    return {
      figures,
      stop: async () => {
        running = false;
        await Promise.all(loops);
        return figures;
      },
    };
  };

  /** What a fault's log line shows: the figures without the timestamps. */
  const summary = ({ okAt: _okAt, ...figures }: LoadFigures) => figures;

  const failures = (figures: LoadFigures) =>
    figures.requests - figures.ok - (figures.statuses.network ?? 0);

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Waits until the load has completed `count` more requests. */
  const whileLoadRuns = async (figures: LoadFigures, count: number) => {
    const target = figures.requests + count;
    await waitFor(async () => (figures.requests >= target ? true : undefined), 60_000, 'load');
  };

  const usageByModel = async (): Promise<Map<string, number>> => {
    const response = await gw('/api/usage?groupBy=model', { headers: { 'x-api-key': key } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      items: { key: string; requests: number | string; errors: number | string }[];
    };
    // Successful inferences: usage also counts the failed ones (as errors).
    return new Map(body.items.map((row) => [row.key, Number(row.requests) - Number(row.errors)]));
  };

  /** An /api route that needs the database: 503 with Retry-After while a dependency is down. */
  const expectApiUnavailable = async () => {
    const response = await gw('/api/models', { headers: { 'x-api-key': key } });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    return response;
  };

  const workerEnv = () => platform.inference.env;

  beforeAll(async () => {
    services = await startPrivatePlatform({
      gateway: {
        STALE_IF_ERROR_MS: String(STALE_IF_ERROR_MS),
        USAGE_FLUSH_MS: '500',
        USAGE_BUFFER_MS: String(USAGE_BUFFER_MS),
      },
      inference: { ORT_INTRA_OP_THREADS: '1' },
      trainer: { TRAINER_LOCK_DURATION_MS: '4000', TRAINER_STALLED_INTERVAL_MS: '2000' },
    });
    ({ platform, postgres, redis } = services);
    gateway = platform.gateway;
    // The second worker: both serve, the gateway picks one per version.
    const second = new AppProcess('inference', await freePort(), workerEnv());
    extraApps.push(second);
    await second.start();
    api = apiFor(gateway.url);
    let tenantId: string;
    ({ tenantId, key, adminToken } = await createTenant(platform, 'faults'));
    // Room for the steady load: a 429 here would hide what the faults do.
    const quotas = await gw(`/api/admin/tenants/${tenantId}/quotas`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}` },
      json: { requestsPerSecond: 100_000, burst: 100_000, monthlyRequests: 100_000_000 },
    });
    expect(quotas.status).toBe(200);
    for (const model of [
      'worker-kill',
      'db-outage',
      'redis-loss',
      'trainer-kill',
      'gateway-kill',
    ]) {
      await uploadModel(api, key, model, buildGemmModel({ weights: W, bias: B }));
    }
    // A tenant with a monthly quota of 5 inferences, all spent (and flushed to PostgreSQL).
    const near = await createTenant(platform, 'faults-quota');
    quotaKey = near.key;
    const quota = await gw(`/api/admin/tenants/${near.tenantId}/quotas`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}` },
      json: { requestsPerSecond: 1000, burst: 1000, monthlyRequests: 5 },
    });
    expect(quota.status).toBe(200);
    await uploadModel(api, quotaKey, 'quota', buildGemmModel({ weights: W, bias: B }));
  }, 180_000);

  afterAll(async () => {
    if (process.env.FAULTS_DUMP_LOGS) console.log(gateway?.logs.slice(-8000));
    await Promise.all(extraApps.map((app) => app.stop('SIGKILL')));
    await services?.stop();
  });

  it('rides through kill -9 of the worker serving the model without a failed request', async () => {
    const workers = async () =>
      (
        (await (
          await gw('/api/admin/workers', { headers: { authorization: `Bearer ${adminToken}` } })
        ).json()) as { items: { url: string; loadedVersions: { model: string }[] }[] }
      ).items;
    await expect.poll(async () => (await workers()).length, { timeout: 10_000 }).toBe(2);
    for (let i = 0; i < 3; i++) expect((await infer('worker-kill')).status).toBe(200);
    const serving = await waitFor(
      async () =>
        (await workers()).find((w) => w.loadedVersions.some((v) => v.model === 'worker-kill')),
      10_000,
      'the serving worker to report its model',
    );
    const victim = [platform.inference, ...extraApps].find((app) => app.url === serving.url);
    expect(victim).toBeDefined();

    const load = startLoad('worker-kill');
    await whileLoadRuns(load.figures, 30);
    await victim!.stop('SIGKILL');
    await whileLoadRuns(load.figures, 60);
    const figures = await load.stop();
    console.log('[faults] worker kill -9', JSON.stringify(summary(figures)));
    // Requests the worker held when it died answer 502 (never replayed: a request that kills a
    // worker would kill each in turn); at most one per client, every later one is served.
    expect(failures(figures)).toBeLessThanOrEqual(3);
    expect(Object.keys(figures.statuses).every((s) => ['200', '502'].includes(s))).toBe(true);
    // Back to two workers for the next faults, as the gateway routes: the replacement listed
    // and the victim gone. (A worker the gateway had not listed yet took over versions from the
    // other when it appeared; had that been during the database outage below, it could not
    // load them, and answered 503.)
    const replacement = new AppProcess('inference', await freePort(), workerEnv());
    extraApps.push(replacement);
    await replacement.start();
    await expect
      .poll(async () => (await workers()).map((w) => w.url).sort(), { timeout: 20_000 })
      .toEqual(
        [platform.inference, ...extraApps]
          .filter((app) => app !== victim)
          .map((app) => app.url)
          .sort(),
      );
  }, 120_000);

  it('keeps serving inference for keys and versions it has seen while PostgreSQL is down', async () => {
    expect((await infer('db-outage')).status).toBe(200);
    const load = startLoad('db-outage');
    await whileLoadRuns(load.figures, 20);
    await postgres.stop();
    const stoppedAt = Date.now();
    try {
      await expectApiUnavailable();
      // Still ready for inference (served from its caches): 200 `degraded`, naming PostgreSQL.
      const ready = await fetch(`${gateway.url}/readyz`);
      const readiness = (await ready.json()) as { status: string; checks: Record<string, string> };
      console.log('[faults] gateway /readyz during the database outage', ready.status, readiness);
      expect(ready.status).toBe(200);
      expect(readiness.status).toBe('degraded');
      expect(readiness.checks.redis).toBe('ok');
      expect(readiness.checks.postgres).toBeDefined();
      expect(readiness.checks.postgres).not.toBe('ok');
      await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
    } finally {
      await postgres.start();
    }
    await whileLoadRuns(load.figures, 20);
    const figures = await load.stop();
    console.log('[faults] postgres stopped 10 s', JSON.stringify(summary(figures)));
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${gateway.url}/readyz`)).json()) as { status: string }).status,
        {
          timeout: 15_000,
        },
      )
      .toBe('ok');
    // The key, tenant limits and version were all seen before the outage: 0 failures.
    expect(failures(figures)).toBe(0);
    expect(figures.statuses['500']).toBeUndefined();
  }, 120_000);

  it('loses no usage and keeps monthly quotas when Redis restarts with its data lost', async () => {
    const inferQuota = () =>
      gw('/v2/models/quota/infer', {
        method: 'POST',
        headers: { 'x-api-key': quotaKey },
        json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] },
      });
    for (let i = 0; i < 5; i++) expect((await inferQuota()).status).toBe(200);
    expect((await inferQuota()).status).toBe(429);
    // The spent quota is in PostgreSQL (usage) before Redis loses its counter.
    await expect
      .poll(
        async () => {
          const response = await gw('/api/usage?groupBy=model', {
            headers: { 'x-api-key': quotaKey },
          });
          const body = (await response.json()) as { items: { requests: number | string }[] };
          return body.items.reduce((sum, row) => sum + Number(row.requests), 0);
        },
        { timeout: 15_000 },
      )
      .toBe(5);

    expect((await infer('redis-loss')).status).toBe(200);
    const load = startLoad('redis-loss');
    await whileLoadRuns(load.figures, 30);
    await redis.kill();
    try {
      await sleep(200);
      await expectApiUnavailable();
      // Not ready: inference fails closed without the rate limiter.
      const ready = await fetch(`${gateway.url}/readyz`);
      const readiness = (await ready.json()) as { status: string; checks: Record<string, string> };
      console.log('[faults] gateway /readyz while Redis is down', ready.status, readiness);
      expect(ready.status).toBe(503);
      expect(readiness.checks.redis).not.toBe('ok');
    } finally {
      await redis.start({ wipe: true });
    }
    await whileLoadRuns(load.figures, 30);
    const figures = await load.stop();
    console.log('[faults] redis restarted empty', JSON.stringify(summary(figures)));
    // Fail closed while Redis is away (limits cannot be checked): 503, never 500.
    expect(Object.keys(figures.statuses).every((s) => ['200', '503'].includes(s))).toBe(true);
    // The monthly counter Redis lost is rebuilt from the usage PostgreSQL has: still refused.
    const refused = await inferQuota();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: string }).error).toMatch(/monthly/);
  }, 120_000);

  it('finishes a training job once when the trainer is killed mid-job', async () => {
    // Through `gw`, which records every status the platform answers.
    const { id } = await startTrainingJob(gw, key, {
      datasetId: await uploadDataset(gw, key, 'synthetic', syntheticCsv(400, 4, 5)),
      target: 'cls',
      algorithm: 'mlp',
      task: 'classification',
      modelName: 'trained',
      hyperparameters: { hiddenLayers: [16], epochs: 1500, batchSize: 8 },
    });
    const load = startLoad('trainer-kill', 2);
    await waitForJob(api, key, id, (job) => (job.progress?.epoch ?? 0) >= 2);
    await platform.trainer.stop('SIGKILL');
    const replacement = new AppProcess('trainer', await freePort(), platform.trainer.env);
    extraApps.push(replacement);
    await replacement.start();
    const job = await waitForJob(api, key, id, finished, 240_000);
    const figures = await load.stop();
    console.log(
      '[faults] trainer kill -9',
      JSON.stringify({ job: job.status, attempts: job.attempts, ...summary(figures) }),
    );
    expect(job.status, job.error).toBe('succeeded');
    expect(job.modelVersion).toEqual({ model: 'trained', version: 1 });
    const versions = (await (
      await gw('/api/models/trained/versions', { headers: { 'x-api-key': key } })
    ).json()) as { items: unknown[] };
    expect(versions.items).toHaveLength(1);
    expect(failures(figures)).toBe(0);
  }, 300_000);

  it('comes back from kill -9 of the gateway and counts what it had answered', async () => {
    const clients = 3;
    const load = startLoad('gateway-kill', clients);
    mayBeCutAfterCounting.set('gateway-kill', clients);
    // Long enough for several pushes and flushes before the kill.
    await whileLoadRuns(load.figures, 30);
    await sleep(1_500);
    const killedAt = Date.now();
    await gateway.stop('SIGKILL');
    const answeredBeforeKill = load.figures.okAt.length;
    const answeredLastInterval = load.figures.okAt.filter(
      (at) => at > killedAt - USAGE_BUFFER_MS,
    ).length;
    // Batches the killed gateway had in Redis, still open or closed but not yet flushed: the
    // restarted one (a new instance) must close and flush them.
    const probe = createRedis(redis.url, 'faults-probe');
    const orphanBatches =
      (await probe.scard(`${gateway.env.REDIS_PREFIX}:usage:batches`)) +
      (await probe.zcard(`${gateway.env.REDIS_PREFIX}:usage:open`));
    await probe.quit();
    const restarted = new AppProcess('gateway', gateway.port, gateway.env);
    extraApps.push(restarted);
    gateway = restarted;
    await restarted.start();
    await whileLoadRuns(load.figures, 30);
    const figures = await load.stop();
    console.log(
      '[faults] gateway kill -9',
      JSON.stringify({
        ...summary(figures),
        answeredBeforeKill,
        answeredInLastBufferIntervalBeforeKill: answeredLastInterval,
        batchesInRedisAtKill: orphanBatches,
      }),
    );
    // While it is down clients cannot connect ('network'); every answer it gave is a success.
    expect(failures(figures)).toBe(0);
  }, 120_000);

  it('counts every successful inference exactly once in /api/usage, and never answered 500', async () => {
    let usage = new Map<string, number>();
    await waitFor(
      async () => {
        usage = await usageByModel();
        return [...served].every(([model, count]) => (usage.get(model) ?? 0) >= count)
          ? true
          : undefined;
      },
      20_000,
      'usage to be flushed',
    ).catch(() => undefined);
    console.log(
      '[faults] usage counted vs served',
      JSON.stringify(
        Object.fromEntries(
          [...served].map(([m, n]) => [m, { served: n, counted: usage.get(m) ?? 0 }]),
        ),
      ),
    );
    expect(allStatuses.filter((s) => s === 500)).toHaveLength(0);
    // Exactly once, the gateway's kill -9 included: each success was in Redis before the
    // client had it (the kill may also cut an answer counted but not yet sent, one per client).
    for (const [model, count] of served) {
      const counted = usage.get(model) ?? 0;
      expect(counted, model).toBeGreaterThanOrEqual(count);
      expect(counted, model).toBeLessThanOrEqual(count + (mayBeCutAfterCounting.get(model) ?? 0));
    }
  }, 60_000);
});
