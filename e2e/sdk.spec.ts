import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGemmModel } from '@maas/onnx';
import {
  type FetchLike,
  MaasApiError,
  MaasClient,
  type RetryEvent,
  type TensorInput,
  type TrainingEvent,
  type UploadProgress,
} from '@maas/sdk';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentityModel, gemm, GEMM_BIAS, GEMM_WEIGHTS } from './serving-helpers.js';
import { irisSplit, waitFor } from './training-helpers.js';

// @maas/sdk against the whole platform as real processes: every method group, typed tensors
// in JSON and in the binary extension, a real training job's events, and a real 429.

const DOUBLED = GEMM_WEIGHTS.map((row) => row.map((v) => v * 2));

describe('@maas/sdk against a running platform', () => {
  let platform: TestPlatform;
  let admin: MaasClient;
  let maas: MaasClient;
  let tenantId: string;
  let dir: string;
  const client = (options: Partial<ConstructorParameters<typeof MaasClient>[0]> = {}) =>
    new MaasClient({ baseUrl: platform.gateway.url, ...options });

  beforeAll(async () => {
    platform = await startTestPlatform();
    dir = await mkdtemp(join(tmpdir(), 'maas-sdk-e2e-'));
    admin = client();
    await admin.auth.login(platform.admin.email, platform.admin.password);
    const tenant = await admin.admin.tenants.create('sdk');
    tenantId = tenant.id;
    const key = await admin.admin.keys.create(tenantId, { name: 'sdk-e2e' });
    maas = client({ apiKey: key.key });
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('admin: tenants, keys and quotas, with suspension and revocation in force at once', async () => {
    const other = await admin.admin.tenants.create('sdk-other');
    expect(other).toMatchObject({ name: 'sdk-other', status: 'active' });
    const names: string[] = [];
    for await (const tenant of admin.admin.tenants.all()) names.push(tenant.name);
    expect(names).toEqual(expect.arrayContaining(['sdk', 'sdk-other']));

    const key = await admin.admin.keys.create(other.id, { name: 'probe', scopes: ['models:read'] });
    expect(key.key).toMatch(/^maas_/);
    expect((await admin.admin.keys.list(other.id)).items.map((k) => k.id)).toContain(key.id);
    const probe = client({ apiKey: key.key });
    expect((await probe.models.list()).items).toEqual([]);
    // The key has models:read only: writing is 403, typed as problem details.
    const forbidden = await probe.models.create({ name: 'x' }).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(MaasApiError);
    expect(forbidden).toMatchObject({ status: 403, slug: 'forbidden' });

    const quotas = await admin.admin.quotas.set(other.id, { maxModels: 7, burst: null });
    expect(quotas.overrides.maxModels).toBe(7);
    expect(quotas.effective.maxModels).toBe(7);
    expect((await admin.admin.quotas.get(other.id)).effective.maxModels).toBe(7);

    expect((await admin.admin.tenants.suspend(other.id)).status).toBe('suspended');
    await expect(probe.models.list()).rejects.toMatchObject({ status: 403 });
    expect((await admin.admin.tenants.activate(other.id)).status).toBe('active');
    await waitFor(
      () =>
        probe.models.list().then(
          () => true,
          () => undefined,
        ),
      5_000,
      'reactivated',
    );

    expect((await admin.admin.keys.revoke(other.id, key.id)).revokedAt).not.toBeNull();
    await waitFor(
      () =>
        probe.models.list().then(
          () => undefined,
          (e: MaasApiError) => e.status === 401 || undefined,
        ),
      5_000,
      'revoked key refused',
    );
    // Tenant routes without a credential, admin routes with a tenant key: refused, typed.
    await expect(client().models.list()).rejects.toMatchObject({ status: 401 });
    await expect(maas.admin.tenants.list()).rejects.toMatchObject({ status: 401 });
  });

  it('surfaces problem details and the request id it sent', async () => {
    const error = (await maas.models
      .get('missing', { headers: { 'x-request-id': 'sdk-e2e-404' } })
      .catch((e: unknown) => e)) as MaasApiError;
    expect(error).toBeInstanceOf(MaasApiError);
    expect(error).toMatchObject({
      status: 404,
      type: 'https://maas.dev/problems/not-found',
      slug: 'not-found',
      title: 'Not Found',
      detail: "model 'missing' not found",
      requestId: 'sdk-e2e-404',
    });
    expect(error.message).toBe("404 Not Found: model 'missing' not found");
    const badLogin = await client()
      .auth.login(platform.admin.email, 'wrong-password')
      .catch((e: unknown) => e);
    expect(badLogin).toMatchObject({ status: 401 });
  });

  it('models: create, page, upload from bytes, a path and a stream with progress, label, delete', async () => {
    const model = await maas.models.create({ name: 'linear', description: 'Gemm 4 → 3' });
    expect(model).toMatchObject({ name: 'linear', description: 'Gemm 4 → 3' });
    await expect(maas.models.create({ name: 'linear' })).rejects.toMatchObject({
      status: 409,
      slug: 'conflict',
    });

    const onnx = buildGemmModel({ weights: GEMM_WEIGHTS, bias: GEMM_BIAS });
    const progress: UploadProgress[] = [];
    const v1 = await maas.models.versions.upload('linear', onnx, {
      onProgress: (p) => progress.push(p),
    });
    expect(v1).toMatchObject({ model: 'linear', version: 1, status: 'ready', format: 'onnx' });
    expect(progress.at(-1)).toEqual({ loaded: onnx.byteLength, total: onnx.byteLength });

    const path = join(dir, 'doubled.onnx');
    await writeFile(path, buildGemmModel({ weights: DOUBLED, bias: GEMM_BIAS }));
    const v2 = await maas.models.versions.upload('linear', { path });
    expect(v2).toMatchObject({ version: 2, status: 'ready' });

    const bytes = buildGemmModel({ weights: GEMM_WEIGHTS, bias: [0, 0, 0] });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 100));
        controller.enqueue(bytes.subarray(100));
        controller.close();
      },
    });
    const v3 = await maas.models.versions.upload('linear', stream);
    expect(v3).toMatchObject({ version: 3, status: 'ready', sizeBytes: bytes.byteLength });

    const versions = await maas.models.versions.list('linear', { limit: 2 });
    expect(versions.items.map((v) => v.version)).toEqual([1, 2]);
    const rest = await maas.models.versions.list('linear', { cursor: Number(versions.nextCursor) });
    expect(rest.items.map((v) => v.version)).toEqual([3]);
    expect(rest.nextCursor).toBeNull();
    expect((await maas.models.versions.get('linear', 2)).sha256).toBe(v2.sha256);

    const label = await maas.models.setLabel('linear', 'production', 2);
    expect(label.versions).toEqual({ '2': 100 });
    expect((await maas.models.get('linear')).labels).toEqual({
      production: { versions: { '2': 100 } },
    });

    await maas.models.create({ name: 'scratch' });
    const listed: string[] = [];
    for await (const m of maas.models.all()) listed.push(m.name);
    expect(listed.sort()).toEqual(['linear', 'scratch']);
    await maas.models.delete('scratch');
    await expect(maas.models.get('scratch')).rejects.toMatchObject({ status: 404 });
  });

  it('inference: typed tensors of every datatype, in JSON and in the binary extension', async () => {
    await maas.models.create({ name: 'identity' });
    await maas.models.versions.upload('identity', buildIdentityModel());
    const inputs: TensorInput[] = [
      { name: 'in_BOOL', data: [true, false, false, true], shape: [2, 2] },
      { name: 'in_UINT8', data: new Uint8Array([0, 1, 254, 255]), shape: [2, 2] },
      { name: 'in_UINT16', data: new Uint16Array([0, 1, 65534, 65535]), shape: [2, 2] },
      { name: 'in_UINT32', data: new Uint32Array([0, 1, 2, 2 ** 32 - 1]), shape: [2, 2] },
      { name: 'in_UINT64', data: new BigUint64Array([0n, 1n, 2n, 2n ** 64n - 1n]), shape: [2, 2] },
      { name: 'in_INT8', data: new Int8Array([-128, -1, 0, 127]), shape: [2, 2] },
      { name: 'in_INT16', data: new Int16Array([-32768, -1, 0, 32767]), shape: [2, 2] },
      { name: 'in_INT32', data: new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1]), shape: [2, 2] },
      {
        name: 'in_INT64',
        data: new BigInt64Array([-(2n ** 63n), -1n, 9007199254740993n, 2n ** 63n - 1n]),
        shape: [2, 2],
      },
      {
        name: 'in_FP16',
        data: new Float32Array([0.5, -2, 1024, 0.099975586]),
        shape: [2, 2],
        datatype: 'FP16',
      },
      { name: 'in_FP32', data: new Float32Array([0.1, -2.5, 3e38, 0]), shape: [2, 2] },
      { name: 'in_FP64', data: new Float64Array([Math.PI, -1e300, 5e-324, 1]), shape: [2, 2] },
      { name: 'in_BYTES', data: ['hi', 'ünï', '', 'a,b'], shape: [2, 2] },
    ];
    for (const binary of [false, true]) {
      const result = await maas.inference.infer('identity', inputs, { binary, id: `b${binary}` });
      expect(result).toMatchObject({ modelName: 'identity', modelVersion: '1', id: `b${binary}` });
      for (const input of inputs) {
        const output = result.output(input.name.replace('in_', 'out_'));
        expect(output.shape).toEqual([2, 2]);
        // 64-bit integers past 2^53 included: exact in JSON too.
        const expected =
          input.datatype === 'FP16' ? new Float32Array([0.5, -2, 1024, 0.099975586]) : input.data;
        expect(output.data, `${input.name} (binary ${binary})`).toEqual(expected);
      }
    }

    const row = [1, 2, 3, 4];
    const viaLabel = await maas.inference.infer('linear', {
      input: { data: new Float32Array(row), shape: [1, 4] },
    });
    expect(viaLabel.modelVersion).toBe('2'); // label production
    const first = await maas.inference.infer(
      'linear',
      { input: { data: new Float32Array([...row, ...row]), shape: [2, 4] } },
      { version: 1, binary: true, outputs: ['output'] },
    );
    const output = first.output('output');
    expect(output).toMatchObject({ datatype: 'FP32', shape: [2, 3] });
    [...gemm(row), ...gemm(row)].forEach((v, i) => expect(output.data[i]).toBeCloseTo(v, 5));
    expect(() => first.output('nope')).toThrow(/no output 'nope'/);

    const metadata = await maas.inference.metadata('linear', 1);
    expect(metadata).toMatchObject({
      name: 'linear',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    });
    expect(await maas.inference.ready('linear')).toBe(true);
    expect((await maas.inference.server()).extensions).toContain('binary_tensor_data');

    const predicted = await maas.inference.predict('linear', { instances: [row] }, { version: 1 });
    (predicted.predictions![0] as number[]).forEach((v, i) =>
      expect(v).toBeCloseTo(gemm(row)[i]!, 5),
    );
    expect((await maas.inference.status('linear')).model_version_status.length).toBeGreaterThan(0);
    const v1Error = await maas.inference
      .infer('linear', { input: new Float32Array(3) })
      .catch((e: unknown) => e);
    expect(v1Error).toMatchObject({ status: 400, type: 'about:blank' });
    expect((v1Error as MaasApiError).detail).toMatch(/input/);
  });

  it('datasets and training: a tree trains, its events iterate over SSE, resume from an id and survive a cut', async () => {
    const dataset = await maas.datasets.upload('iris', irisSplit().train);
    expect(dataset).toMatchObject({ name: 'iris', rows: 120 });
    expect((await maas.datasets.list()).items.map((d) => d.id)).toEqual([dataset.id]);
    expect((await maas.datasets.get(dataset.id)).columns.map((c) => c.type)).toEqual([
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'categorical',
    ]);

    const job = await maas.training.create({
      datasetId: dataset.id,
      target: 'species',
      algorithm: 'decision_tree',
      task: 'classification',
      modelName: 'iris',
      hyperparameters: { criterion: 'gainRatio' },
    });
    expect(job.status).toBe('queued');
    const events: TrainingEvent[] = [];
    for await (const event of maas.training.events(job.id)) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.at(-1)).toBe('end');
    expect(types).toContain('progress');
    const states = events.flatMap((e) => (e.type === 'state' ? [e.data.status] : []));
    expect(states).toEqual(expect.arrayContaining(['running', 'succeeded']));
    const end = events.at(-1)!;
    expect(end.type === 'end' && end.data).toMatchObject({
      id: job.id,
      status: 'succeeded',
      modelVersion: { model: 'iris', version: 1 },
    });
    const ids = events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    // Resuming after the second event replays exactly what came after it.
    const resumed: TrainingEvent[] = [];
    for await (const event of maas.training.events(job.id, { lastEventId: events[1]!.id })) {
      resumed.push(event);
    }
    expect(resumed.map((e) => e.id)).toEqual(events.slice(2).map((e) => e.id));

    // A connection cut after the first event: the iterator reconnects with Last-Event-ID and
    // yields every event once.
    const sentLastEventIds: (string | null)[] = [];
    let cut = false;
    const cutting: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      if (!url.endsWith('/events')) return response;
      sentLastEventIds.push(new Headers(init.headers).get('last-event-id'));
      if (cut) return response;
      cut = true;
      const reader = response.body!.getReader();
      let seen = '';
      let delivered = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          // The connection drops right after the first event (error() would discard what
          // is still queued, so it comes on the next pull).
          if (delivered) {
            await reader.cancel();
            controller.error(new TypeError('terminated'));
            return;
          }
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return controller.close();
            seen += new TextDecoder().decode(value);
            const end = seen.indexOf('\n\n', seen.indexOf('id:'));
            if (seen.includes('id:') && end !== -1) {
              controller.enqueue(new TextEncoder().encode(seen.slice(0, end + 2)));
              delivered = true;
              return;
            }
          }
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const flaky = client({ apiKey: maas.transport.apiKey as string, fetch: cutting });
    const again: TrainingEvent[] = [];
    for await (const event of flaky.training.events(job.id, { reconnectDelayMs: 10 })) {
      again.push(event);
    }
    expect(again.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(sentLastEventIds.length).toBe(2);
    expect(sentLastEventIds[0]).toBeNull();
    expect(sentLastEventIds[1]).not.toBeNull();

    expect((await maas.training.get(job.id)).status).toBe('succeeded');
    expect((await maas.training.list({ status: 'succeeded' })).items.map((j) => j.id)).toEqual([
      job.id,
    ]);
    // Cancelling a finished job answers it as it is.
    expect((await maas.training.cancel(job.id)).status).toBe('succeeded');
    const trained = await maas.inference.infer('iris', {
      features: { data: new Float32Array([5.1, 3.5, 1.4, 0.2]), shape: [1, 4] },
    });
    expect(trained.output('label').data).toEqual(['setosa']);
    const tree = await maas.models.versions.tree('iris', 1);
    expect(JSON.stringify(tree)).toContain('petal');
  });

  it('usage: counts the inference calls made above, by model', async () => {
    const usage = await waitFor(
      async () => {
        const answer = await maas.usage.get({ groupBy: 'model', to: new Date() });
        return answer.items.some((i) => i.key === 'identity' && i.requests >= 2)
          ? answer
          : undefined;
      },
      15_000,
      'usage flushed',
    );
    expect(usage.items.map((i) => i.key)).toEqual(expect.arrayContaining(['identity', 'linear']));
    expect(usage.totals.requests).toBeGreaterThanOrEqual(6);
    const admins = await admin.admin.usage({ tenantId, groupBy: 'model' });
    expect(admins.totals.requests).toBe(usage.totals.requests);
  });

  it('retries a real 429 after its Retry-After and succeeds; without retries it is typed', async () => {
    const limited = await admin.admin.tenants.create('sdk-limited');
    await admin.admin.quotas.set(limited.id, { requestsPerSecond: 1, burst: 1 });
    const key = await admin.admin.keys.create(limited.id, { name: 'limited' });
    const setup = client({ apiKey: key.key });
    await setup.models.create({ name: 'linear' });
    await setup.models.versions.upload(
      'linear',
      buildGemmModel({ weights: GEMM_WEIGHTS, bias: GEMM_BIAS }),
    );
    // Tenant limits are cached for up to a second.
    await new Promise((r) => setTimeout(r, 1100));

    const retries: RetryEvent[] = [];
    const patient = client({ apiKey: key.key, onRetry: (e) => retries.push(e) });
    const row = { input: { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] } };
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await patient.inference.infer('linear', row));
    expect(answers.map((a) => a.modelName)).toEqual(['linear', 'linear', 'linear']);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    for (const retry of retries) {
      expect(retry).toMatchObject({ status: 429, method: 'POST' });
      expect(retry.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(retry.delayMs).toBeGreaterThanOrEqual(retry.retryAfterSeconds! * 1000);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);

    const impatient = client({ apiKey: key.key, retry: false });
    let refused: unknown;
    for (let i = 0; i < 3 && !refused; i++) {
      refused = await impatient.inference.infer('linear', row).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(refused).toBeInstanceOf(MaasApiError);
    expect(refused).toMatchObject({ status: 429 });
    expect((refused as MaasApiError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((refused as MaasApiError).requestId).toBeTruthy();
  });
});
