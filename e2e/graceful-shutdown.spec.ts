import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { buildMlpModel, randomMlp } from '@maas/onnx';
import {
  AppProcess,
  createTenantWithKey,
  gatewayFetch,
  startTestPlatform,
  type TestPlatform,
  uploadModelVersion,
} from '@maas/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { metricValue } from './serving-helpers.js';
import {
  apiFor,
  createTenant,
  type JobView,
  startTrainingJob,
  syntheticCsv,
  uploadDataset,
  waitForJob,
} from './training-helpers.js';

const IN_FLIGHT = 50;

/**
 * Starts `count` infer requests whose bodies are only half sent, so each is certainly in
 * flight on the server; `finish()` sends the rest and resolves with every response.
 */
function startHalfSentRequests(url: string, path: string, apiKey: string, count: number) {
  const body = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    }),
  );
  const half = Math.floor(body.length / 2);
  const requests = Array.from({ length: count }, () => {
    let resolve!: (value: { status: number; body: string }) => void;
    let reject!: (error: Error) => void;
    const done = new Promise<{ status: number; body: string }>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      agent: false,
      headers: {
        'x-api-key': apiKey,
        'content-type': 'application/json',
        'content-length': body.length,
      },
    });
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.write(body.subarray(0, half));
    return { req, done };
  });
  return {
    /** The local ports of the request sockets that have connected so far. */
    clientPorts: () =>
      new Set(
        requests.flatMap(({ req }) =>
          req.socket?.localPort === undefined ? [] : [req.socket.localPort],
        ),
      ),
    finish: async () => {
      for (const { req } of requests) req.end(body.subarray(half));
      return Promise.all(requests.map((r) => r.done));
    },
  };
}

/**
 * How many of `clientPorts` have an established connection to local `port` whose received bytes
 * the server process has already read (receive queue empty): its HTTP parser has seen those
 * requests (Linux /proc/net/tcp). Other clients' connections (keep-alive ones from set-up) do not
 * count, so a request still waiting in the accept queue cannot be mistaken for one in flight.
 */
function readConnections(port: number, clientPorts: ReadonlySet<number>): number {
  const hex = (value: number) => value.toString(16).toUpperCase().padStart(4, '0');
  const remotes = new Set([...clientPorts].map(hex));
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      const receiveQueue = fields[4]?.split(':')[1];
      return (
        fields[1]?.endsWith(`:${hex(port)}`) &&
        remotes.has(fields[2]?.split(':')[1] ?? '') &&
        fields[3] === '01' &&
        /^0+$/.test(receiveQueue ?? '')
      );
    }).length;
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function waitForLog(app: AppProcess, pattern: RegExp, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(app.logs)) {
    if (Date.now() > deadline) throw new Error(`no log matching ${pattern} from ${app.name}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('graceful shutdown', () => {
  let platform: TestPlatform | undefined;

  afterEach(async () => {
    await platform?.stop();
    platform = undefined;
  });

  async function setUp() {
    platform = await startTestPlatform();
    const { key } = await createTenantWithKey(platform, 'shutdown');
    await uploadModelVersion(
      platform,
      key,
      'mlp',
      buildMlpModel({ layers: randomMlp([8, 16, 4], 7) }),
    );
    return { platform, key };
  }

  it('lets 50 in-flight requests finish when the gateway gets SIGTERM', async () => {
    const { platform, key } = await setUp();
    const inFlight = startHalfSentRequests(
      platform.gateway.url,
      '/v2/models/mlp/infer',
      key,
      IN_FLIGHT,
    );
    await waitFor(
      () => readConnections(platform.gateway.port, inFlight.clientPorts()) === IN_FLIGHT,
    );
    const exited = platform.gateway.stop('SIGTERM');
    await waitForLog(platform.gateway, /draining/);
    const responses = await inFlight.finish();
    // On failure: what the first answers said and what the apps logged (the cause is otherwise lost with them).
    expect(
      responses.map((r) => r.status),
      `${JSON.stringify(responses.slice(0, 2))}\ngateway: ${platform.gateway.logs.slice(-3000)}\n` +
        `worker: ${platform.inference.logs.slice(-3000)}`,
    ).toEqual(Array(IN_FLIGHT).fill(200));
    for (const response of responses) {
      expect(JSON.parse(response.body).outputs[0].shape).toEqual([1, 4]);
    }
    expect(await exited).toBe(0);
    await expect(fetch(`${platform.gateway.url}/healthz`)).rejects.toThrow();
  });

  it('lets 50 in-flight requests finish when the inference worker gets SIGTERM', async () => {
    platform = await startTestPlatform();
    const { key } = await createTenantWithKey(platform, 'shutdown');
    await uploadModelVersion(
      platform,
      key,
      'held',
      buildMlpModel({ layers: randomMlp([8, 16, 4], 7) }),
    );
    // The batcher holds requests for up to 3 s waiting for a full batch of 64 rows: 50 one-row
    // requests all sit queued in the worker, deterministically in flight when SIGTERM comes.
    const config = await gatewayFetch(platform, '/api/models/held/versions/1', {
      method: 'PATCH',
      headers: { 'x-api-key': key },
      json: { servingConfig: { maxBatchSize: 64, maxQueueDelayMs: 3000 } },
    });
    expect(config.status).toBe(200);
    const body = {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    };
    let answered = 0;
    const requests = Array.from({ length: IN_FLIGHT }, async () => {
      const response = await gatewayFetch(platform!, '/v2/models/held/infer', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: body,
      });
      const text = await response.text();
      answered++;
      return { status: response.status, text };
    });
    await waitForAsync(
      async () =>
        (await metricValue(platform!.inference.opsUrl, 'maas_inference_in_flight')) >= IN_FLIGHT,
    );
    expect(answered).toBe(0);
    const exited = platform.inference.stop('SIGTERM');
    const responses = await Promise.all(requests);
    expect(responses.map((r) => r.status)).toEqual(Array(IN_FLIGHT).fill(200));
    expect(JSON.parse(responses[0].text).outputs[0].shape).toEqual([1, 4]);
    expect(await exited).toBe(0);
  });

  it('lets the trainer finish its running job when it gets SIGTERM', async () => {
    platform = await startTestPlatform();
    const api = apiFor(platform);
    const tenant = await createTenant(platform, 'drain');
    const { id } = await startTrainingJob(api, tenant.key, {
      datasetId: await uploadDataset(api, tenant.key, 'synthetic', syntheticCsv(300, 4, 9)),
      target: 'cls',
      algorithm: 'mlp',
      task: 'classification',
      modelName: 'drained',
      // A few seconds of training, well inside the drain timeout.
      hyperparameters: { hiddenLayers: [16], epochs: 5000, batchSize: 16 },
    });
    await waitForJob(api, tenant.key, id, (job) => job.status === 'running' && !!job.progress);
    const signalledAt = Date.now();
    const exitCode = await platform.trainer.stop('SIGTERM', 60_000);
    expect(exitCode).toBe(0);
    expect(platform.trainer.logs).toContain('running jobs finished');
    const job = await waitForJob(api, tenant.key, id, (j) => j.status !== 'running', 5_000);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
    // It was still training when the signal came, and finished on this trainer after it.
    const { finishedAt } = job as JobView & { finishedAt: string };
    expect(new Date(finishedAt).getTime()).toBeGreaterThan(signalledAt);
  }, 120_000);
});
