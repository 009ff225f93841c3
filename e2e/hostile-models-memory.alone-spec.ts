import { readFile } from 'node:fs/promises';
import { PrismaService } from '@maas/db';
import {
  TensorDataType,
  buildGemmModel,
  buildMlpModel,
  buildModel,
  encodeModel,
  node,
  randomMlp,
  tensorProto,
  valueInfo,
} from '@maas/onnx';
import {
  createTenantWithKey,
  gatewayFetch,
  startTestPlatform,
  type TestPlatform,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answered,
  aroundAttack,
  expectBystanderUnharmed,
  startAttacker,
  remoteTraffic,
} from './bystander-traffic.js';
import { plantReadyVersion } from './planted-version-helpers.js';
import { metricValue } from './serving-helpers.js';

const MiB = 1024 * 1024;
/** A's models: ~8 MiB of FP32 weights each (512·2048 + 2048·512 + 512·10 + biases). */
const A_SIZES = [512, 2048, 512, 10];
const A_MODELS = 10;
/** Charged 2 × ~8 MiB each: A's 36 MiB share holds two of them (loaded or loading). */
const CACHE_BYTES = 72 * MiB;
const MEMORY_FACTOR = 2;
const TENANT_SHARE = 0.5;
const BUSY = 'the inference worker is busy loading other models; retry shortly';

/** Peak and current resident memory of a process, from /proc (Linux). */
async function memoryOf(pid: number): Promise<{ peak: number; rss: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { peak: kib('VmHWM'), rss: kib('VmRSS') };
}

/** Tenant A's client: 50 requests at once over its 10 versions, each answer printed. */
const STORM = `
const [url, key, models, width] = process.argv.slice(1);
const body = JSON.stringify({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, Number(width)], data: Array(Number(width)).fill(0.5) }],
});
const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
  const response = await fetch(url + '/v2/models/large-' + (i % Number(models)) + '/infer', {
    method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body,
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
}));
process.stdout.write(JSON.stringify(answers) + '\\n');
`;

/** out = x + 1 / 0 in INT32: onnxruntime refuses it while building the session, at any level. */
const unloadableModel = () =>
  encodeModel(
    buildModel({
      graph: {
        nodes: [node('Div', ['one', 'zero'], ['q']), node('Add', ['x', 'q'], ['out'])],
        initializers: [
          tensorProto('one', TensorDataType.INT32, [1], [1]),
          tensorProto('zero', TensorDataType.INT32, [1], [0]),
        ],
        inputs: [valueInfo('x', TensorDataType.INT32, [1])],
        outputs: [valueInfo('out', TensorDataType.INT32, [1])],
      },
    }),
  );

/**
 * Tenant A's cold loads of large models cannot exhaust a worker's memory or evict tenant B, and
 * B's p99 stays within 2× its quiet p99 meanwhile (runs alone: see bystander-traffic.ts).
 */
describe('hostile models: one tenant cannot exhaust or monopolise a worker’s memory', () => {
  let platform: TestPlatform;
  let prisma: PrismaService;
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };
  let bVersionId: string;
  let aModelBytes: number;

  const infer = async (key: string, path: string, inputs: unknown) => {
    const response = await gatewayFetch(platform, `/v2/models/${path}/infer`, {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { inputs },
    });
    const text = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
  };
  const B_INPUTS = [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [3, 4] }];
  const inferB = () => infer(b.key, 'small', B_INPUTS);
  const inferBroken = (model: string) =>
    infer(a.key, `${model}/versions/2`, [{ name: 'x', datatype: 'INT32', shape: [1], data: [7] }]);

  const upload = async (key: string, name: string, bytes: Uint8Array) => {
    const api = (path: string, init: RequestInit & { json?: unknown }) =>
      gatewayFetch(platform, path, { ...init, headers: { 'x-api-key': key, ...init.headers } });
    await api('/api/models', { method: 'POST', json: { name } });
    const response = await api(`/api/models/${name}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(bytes),
    });
    expect(response.status, `${name}: ${await response.clone().text()}`).toBe(201);
  };

  /** Version 2 of `model` (INT32 x → out), planted in storage as ready; see plantReadyVersion. */
  const plant = async (model: string, plaintext: Buffer, tamper = false) => {
    await upload(a.key, model, buildGemmModel({ weights: [[1]], bias: [0] }));
    return plantReadyVersion(platform, prisma, {
      tenantId: a.tenantId,
      model,
      number: 2,
      plaintext,
      inputs: [{ name: 'x', datatype: 'INT32', shape: [1] }],
      outputs: [{ name: 'out', datatype: 'INT32', shape: [1] }],
      tamper,
    });
  };

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        inference: {
          MODEL_CACHE_BYTES: String(CACHE_BYTES),
          MODEL_MEMORY_FACTOR: String(MEMORY_FACTOR),
          MODEL_CACHE_TENANT_SHARE: String(TENANT_SHARE),
          MAX_CONCURRENT_LOADS: '2',
          MODEL_LOAD_WAIT_MS: '15000',
          ORT_INTRA_OP_THREADS: '1',
          // A broken version keeps resolving on the worker, so every request of a flood
          // reaches its model cache (the gateway stops routing to it only once it is marked).
          VERSION_LOOKUP_TTL_MS: '60000',
        },
      },
    });
    prisma = new PrismaService({ databaseUrl: platform.database.url });
    a = await createTenantWithKey(platform, 'memory-a');
    b = await createTenantWithKey(platform, 'memory-b');
    // Limits of the tenants' own plans are not what this is about.
    const token = (
      (await (
        await gatewayFetch(platform, '/api/auth/login', { method: 'POST', json: platform.admin })
      ).json()) as { accessToken: string }
    ).accessToken;
    for (const tenant of [a, b]) {
      const response = await gatewayFetch(
        platform,
        `/api/admin/tenants/${tenant.tenantId}/quotas`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}` },
          json: { requestsPerSecond: 10_000, burst: 10_000 },
        },
      );
      expect(response.status).toBe(200);
    }
    await upload(
      b.key,
      'small',
      buildGemmModel({
        weights: [
          [1, 0],
          [0, 1],
        ],
        bias: [0, 0],
      }),
    );
    bVersionId = (await prisma.modelVersion.findFirstOrThrow({ where: { tenantId: b.tenantId } }))
      .id;
    for (let i = 0; i < A_MODELS; i++) {
      const bytes = buildMlpModel({ layers: randomMlp(A_SIZES, i + 1) });
      aModelBytes = bytes.length;
      await upload(a.key, `large-${i}`, bytes);
    }
  }, 240_000);

  afterAll(async () => {
    if (process.env.MEMORY_DUMP_LOGS) console.log(platform?.inference.logs.slice(-8000));
    await prisma?.$disconnect();
    await platform?.stop();
  });

  it('50 cold requests of tenant A at 10 large versions: B keeps serving, A gets 200 or 503, memory stays bounded', async () => {
    expect(aModelBytes).toBeGreaterThan(8 * MiB);
    const worker = platform.inference;
    expect((await inferB()).status).toBe(200);
    const before = await memoryOf(worker.pid!);
    // B's traffic, two calls at a time, before, through and after A's storm.
    const trafficOfB = () =>
      remoteTraffic(
        platform.gateway.url,
        b.key,
        '/v2/models/small/infer',
        { inputs: B_INPUTS },
        {
          loops: 2,
        },
      );
    const traffic = await trafficOfB();
    await answered(traffic, 10);
    // A's 50 requests from a process of their own (see startAttacker); B's quiet p99 around
    // them, just before and just after (aroundAttack).
    const attacker = await startAttacker<
      { status: number; retryAfter: string | null; text: string }[]
    >(STORM, platform.gateway.url, a.key, String(A_MODELS), String(A_SIZES[0]));
    const {
      result: storm,
      quiet,
      during,
    } = await aroundAttack(traffic, attacker.run).finally(() => attacker.child.kill());
    const bStatuses = (await traffic.stop()).statuses;

    // B: no failure, a steady p99, its version loaded once and never evicted.
    expect(new Set(bStatuses)).toEqual(new Set([200]));
    // Within latencyBound (2×, 50 ms noise floor). What A's loads cost is CPU (reading,
    // decrypting, building sessions: ~20-60 ms each), shared with B's client, the gateway and
    // the worker on 2 cores. They never hold the worker's event loop (model threads and the
    // unseal thread, below its CPU priority), one tenant holds one load slot at a time
    // (MAX_CONCURRENT_LOADS_PER_TENANT: before, B's p99 was 240-480 ms), and while B is served
    // A's loads may hold that slot half the time (LOAD_TIME_SHARE_PER_TENANT: without it B's
    // p99 was 44-62 ms against a quiet 12-33, once 3 ms inside this bound; with it 14.7-29.1
    // against a quiet 9.5-23.2 in 5 local runs, 25.2 and 37.4 against 9.5 and 10.1 in CI).
    expectBystanderUnharmed('50 cold loads of 10 large versions', quiet, during);
    const logs = worker.logLines();
    expect(
      logs.filter((l) => l.msg === 'model version evicted' && l.versionId === bVersionId),
    ).toEqual([]);
    expect(
      logs.filter((l) => l.msg === 'model version loaded' && l.versionId === bVersionId),
    ).toHaveLength(1);

    // A: served, or told clearly to come back; never a 500.
    const statuses = storm.map((r) => r.status);
    expect(statuses).toContain(200);
    for (const answer of storm.filter((r) => r.status !== 200)) {
      expect(answer.status, answer.text).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({ error: BUSY });
      expect(answer.retryAfter).toBe('1');
    }
    // A made room among its own versions only; the budget never had to evict anyone.
    const ops = worker.opsUrl;
    expect(
      await metricValue(ops, 'maas_model_cache_evictions_total', 'reason="tenant_share"'),
    ).toBeGreaterThan(0);
    expect(await metricValue(ops, 'maas_model_cache_evictions_total', 'reason="budget"')).toBe(0);
    // A's loads paused while B was served (LOAD_TIME_SHARE_PER_TENANT), none is left paused.
    expect(await metricValue(ops, 'maas_model_load_pauses_total')).toBeGreaterThan(0);
    expect(await metricValue(ops, 'maas_model_loads_paused')).toBe(0);
    expect(await metricValue(ops, 'maas_model_loads_waiting')).toBe(0);
    expect(await metricValue(ops, 'maas_model_loads_in_progress')).toBe(0);
    expect(await metricValue(ops, 'maas_model_load_reserved_bytes')).toBe(0);
    const waitRefusals = await metricValue(
      ops,
      'maas_model_load_refusals_total',
      'reason="wait_timeout"',
    );
    // A wait that timed out answers every request that shared it.
    expect(waitRefusals).toBeLessThanOrEqual(statuses.filter((s) => s === 503).length);

    // The worker is alive and well, and its peak memory grew by no more than A may hold
    // (its share: every byte it loads or has loaded is charged within it), plus what is not
    // charged: dead artifact copies (read and decrypted bytes of finished loads), which V8
    // collects once ~64 MiB of external memory piled up, and 16 MiB of allocator slack.
    // Measured: 48-68 MiB since the model and unseal threads collect after each load (they
    // held their last loads' bytes: 79-120 MiB); ~200 MiB with the loads unbounded.
    expect(worker.pid && process.kill(worker.pid, 0)).toBe(true);
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const after = await memoryOf(worker.pid!);
    const allowance = CACHE_BYTES * TENANT_SHARE + 64 * MiB + 16 * MiB;
    console.log(
      `worker peak RSS grew by ${((after.peak - before.peak) / MiB).toFixed(1)} MiB ` +
        `(allowance ${(allowance / MiB).toFixed(1)} MiB)`,
    );
    expect(
      after.peak - before.peak,
      `peak RSS grew by ${((after.peak - before.peak) / MiB).toFixed(1)} MiB`,
    ).toBeLessThan(allowance);
    expect((await inferB()).status).toBe(200);
  });

  it('a version that cannot load, hit 100 times, is read from storage once', async () => {
    const version = await plant('unloadable', Buffer.from(unloadableModel()));
    const ops = platform.inference.opsUrl;
    const reads = () => metricValue(ops, 'maas_model_artifact_reads_total');
    const readsBefore = await reads();
    const hitsBefore = await metricValue(ops, 'maas_model_cache_negative_hits_total');

    const first = await inferBroken('unloadable');
    const rest = await Promise.all(Array.from({ length: 99 }, () => inferBroken('unloadable')));
    for (const answer of [first, ...rest]) {
      expect(answer.status, answer.text).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({ error: 'model version could not be loaded' });
    }
    expect(await reads()).toBe(readsBefore + 1);
    expect(await metricValue(ops, 'maas_model_cache_negative_hits_total')).toBe(hitsBefore + 99);
    // From memory, each remembered answer says when the worker looks again.
    expect(Number(rest[0]!.retryAfter)).toBeGreaterThan(0);
    expect(Number(rest[0]!.retryAfter)).toBeLessThanOrEqual(30);
    // Nothing about the bytes changed the version: it is still ready.
    expect(
      (await prisma.modelVersion.findUniqueOrThrow({ where: { id: version.id } })).status,
    ).toBe('ready');
  });

  it('planted corrupt bytes are read once, marked corrupt, and never answer a 500', async () => {
    const version = await plant('tampered', Buffer.from(unloadableModel()), true);
    const ops = platform.inference.opsUrl;
    const integrityBefore = await metricValue(
      ops,
      'maas_model_artifact_reads_total',
      'result="integrity"',
    );
    const first = await inferBroken('tampered');
    expect(first.status, first.text).toBe(503);
    expect(JSON.parse(first.text)).toEqual({ error: 'model version failed its integrity check' });
    const rest = await Promise.all(Array.from({ length: 49 }, () => inferBroken('tampered')));
    // Answered from the worker's memory, or by a gateway that already sees it corrupt.
    for (const answer of rest) expect([503, 404], answer.text).toContain(answer.status);
    expect(await metricValue(ops, 'maas_model_artifact_reads_total', 'result="integrity"')).toBe(
      integrityBefore + 1,
    );
    expect(
      (await prisma.modelVersion.findUniqueOrThrow({ where: { id: version.id } })).status,
    ).toBe('corrupt');
  });
});
