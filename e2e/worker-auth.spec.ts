import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { buildGemmModel } from '@maas/onnx';
import {
  AppProcess,
  freePort,
  linkStranger,
  startTestPlatform,
  type TestPlatform,
} from '@maas/testing';
import {
  type Frame,
  FrameKind,
  frameHead,
  LINK_CHALLENGE_BYTES,
  LINK_MAGIC,
  LINK_NONCE_BYTES,
  type LinkResponseMeta,
  linkProof,
  openLinkHandshake,
  parseMeta,
  readFrames,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_MS,
  signWorkerRequest,
} from '@maas/worker-link';
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

/** Resolves when the socket closes (a reset included: events.once would reject on 'error'). */
const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));

const INFER_PATH = '/v2/models/linear/versions/1/infer';
const body = (row: number[]) =>
  Buffer.from(
    JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }] }),
  );

/** An infer frame as the gateway sends it. */
function inferFrame(tenant: string, row: number[]): Buffer {
  const payload = body(row);
  return Buffer.concat([
    frameHead(
      7,
      FrameKind.infer,
      { tenant, model: 'linear', version: 1, requestId: 'stranger-1' },
      payload.length,
    ),
    payload,
  ]);
}

/** A raw HTTP/1.1 exchange: sends `head` and part of a body, resolves with what came back. */
async function rawHttp(port: number, request: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.write(request);
  await closed(socket);
  return Buffer.concat(received).toString('latin1');
}

describe('gateway ↔ worker authentication (WORKER_SECRET)', () => {
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  let tenantId: string;
  const worker = () => platform.inference;
  const metric = (name: string, labels = '') => metricValue(worker().opsUrl, name, labels);
  /** Signals that the worker ran (or loaded) a model. */
  const inferenceCounts = async () => ({
    loads: await metric('maas_model_cache_loads_total'),
    queued: await metric('maas_inference_queue_seconds_count'),
    link: await metric('maas_inference_link_requests_total'),
    httpOk: await metric('maas_http_requests_total', 'status="200"'),
  });
  const signedPost = (headers: Record<string, string>, payload: Buffer) =>
    fetch(`${worker().url}${INFER_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-maas-tenant-id': tenantId, ...headers },
      body: payload,
    });

  beforeAll(async () => {
    platform = await startTestPlatform();
    api = apiFor(platform.gateway.url);
    ({ key, tenantId } = await createTenant(platform, 'worker-auth'));
    await uploadModel(api, key, 'linear', buildGemmModel({ weights: W, bias: B }));
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('serves /metrics, /healthz and /readyz on the ops port only', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${worker().opsUrl}${path}`)).status, `ops ${path}`).toBe(200);
      const onInferencePort = await fetch(`${worker().url}${path}`);
      expect([401, 404], `inference port ${path}`).toContain(onInferencePort.status);
      expect(await onInferencePort.text()).not.toContain('maas_process_cpu_seconds_total');
    }
    const ready = (await (await fetch(`${worker().opsUrl}/readyz`)).json()) as {
      checks: Record<string, string>;
    };
    expect(ready.checks).toMatchObject({ postgres: 'ok', storage: 'ok', serving: 'ok' });
    // The worker's own v2 surface is the gateway's too.
    expect((await fetch(`${worker().url}/v2/health/ready`)).status).toBe(401);
  });

  it('answers 401 to unsigned, wrongly signed and expired HTTP requests and runs nothing', async () => {
    const before = await inferenceCounts();
    const failuresBefore = await metric('maas_inference_auth_failures_total', 'transport="http"');
    const payload = body([1, 2, 3, 4]);
    const request = { method: 'POST', path: INFER_PATH, requestId: 'r-1', tenant: tenantId };
    const attempts: Record<string, Record<string, string>> = {
      unsigned: {},
      'wrong secret': {
        'x-request-id': 'r-1',
        [SIGNATURE_HEADER]: signWorkerRequest(randomBytes(32).toString('hex'), request),
      },
      expired: {
        'x-request-id': 'r-1',
        [SIGNATURE_HEADER]: signWorkerRequest(
          platform.workerSecret,
          request,
          Date.now() - SIGNATURE_WINDOW_MS - 5000,
        ),
      },
      // A valid signature for another tenant's request does not carry over to this one.
      'other tenant': {
        'x-request-id': 'r-1',
        [SIGNATURE_HEADER]: signWorkerRequest(platform.workerSecret, {
          ...request,
          tenant: 'another-tenant',
        }),
      },
      garbage: { [SIGNATURE_HEADER]: 't=abc,v1=zz' },
    };
    for (const [name, headers] of Object.entries(attempts)) {
      const response = await signedPost(headers, payload);
      expect(response.status, name).toBe(401);
      expect(response.headers.get('content-type'), name).toMatch(/^application\/json/);
      expect(((await response.json()) as { error: string }).error, name).toMatch(
        /serves only the gateway/,
      );
    }
    expect(await inferenceCounts()).toEqual(before);
    expect(await metric('maas_inference_auth_failures_total', 'transport="http"')).toBe(
      failuresBefore + Object.keys(attempts).length,
    );

    // The same request with the right signature is served: the refusals above were the auth.
    const ok = await signedPost(
      {
        'x-request-id': 'r-1',
        [SIGNATURE_HEADER]: signWorkerRequest(platform.workerSecret, request),
      },
      payload,
    );
    expect(ok.status).toBe(200);
    const out = ((await ok.json()) as { outputs: { data: number[] }[] }).outputs[0]!;
    out.data.forEach((v, j) => expect(v).toBeCloseTo(gemm([1, 2, 3, 4])[j]!, 4));
  });

  it('refuses an unsigned request before reading its body, and hangs up', async () => {
    // 50 MB announced, a few bytes sent: the answer comes without the rest being sent.
    const answer = await rawHttp(
      worker().port,
      `POST ${INFER_PATH} HTTP/1.1\r\nhost: worker\r\nx-maas-tenant-id: ${tenantId}\r\n` +
        'content-type: application/json\r\ncontent-length: 50000000\r\n\r\n{"inputs": [',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('answers a signed request whose Content-Length is past MAX_REQUEST_BYTES 413, unread', async () => {
    const request = { method: 'POST', path: INFER_PATH, requestId: 'r-big', tenant: tenantId };
    const answer = await rawHttp(
      worker().port,
      `POST ${INFER_PATH} HTTP/1.1\r\nhost: worker\r\nx-maas-tenant-id: ${tenantId}\r\n` +
        `x-request-id: r-big\r\n${SIGNATURE_HEADER}: ${signWorkerRequest(platform.workerSecret, request)}\r\n` +
        'content-type: application/json\r\nconnection: close\r\n' +
        `content-length: ${64 * 1024 * 1024 + 1}\r\n\r\n{"inputs": [`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('exceeds');
  });

  it('serves no link frame without the handshake, nor after a wrong one, and disconnects', async () => {
    const before = await inferenceCounts();
    const failuresBefore = await metric('maas_inference_auth_failures_total', 'transport="link"');
    const port = worker().linkPort;

    // A well-formed request frame straight away.
    const direct = await linkStranger(port, (socket) =>
      socket.write(inferFrame(tenantId, [1, 2, 3, 4])),
    );
    // A proof made with another secret, then the frame.
    const wrong = await linkStranger(port, (socket, challenge) => {
      const workerNonce = challenge.subarray(LINK_MAGIC.length);
      const gatewayNonce = randomBytes(LINK_NONCE_BYTES);
      const proof = linkProof(
        randomBytes(32).toString('hex'),
        'gateway',
        workerNonce,
        gatewayNonce,
      );
      socket.write(Buffer.concat([gatewayNonce, proof]));
      socket.write(inferFrame(tenantId, [1, 2, 3, 4]));
    });
    // Nothing at all: the worker hangs up after its handshake timeout.
    const stalled = await linkStranger(port, () => undefined);

    for (const received of [direct, wrong, stalled]) {
      // The challenge and nothing else: no response frame.
      expect(received.length).toBe(LINK_CHALLENGE_BYTES);
      expect(received.subarray(0, LINK_MAGIC.length).equals(LINK_MAGIC)).toBe(true);
    }
    expect(await inferenceCounts()).toEqual(before);
    expect(await metric('maas_inference_auth_failures_total', 'transport="link"')).toBe(
      failuresBefore + 3,
    );
    expect(
      await metric('maas_inference_auth_failures_total', 'reason="timeout"'),
    ).toBeGreaterThanOrEqual(1);

    // With the secret, the same frame is answered: the handshake is what stood in the way.
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    await new Promise<void>((resolve, reject) =>
      openLinkHandshake(socket, platform.workerSecret, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const answered = new Promise<Frame>((resolve) => readFrames(socket, resolve));
    socket.write(inferFrame(tenantId, [4, 3, 2, 1]));
    const frame = await answered;
    socket.destroy();
    expect(frame.kind).toBe(FrameKind.response);
    expect(parseMeta<LinkResponseMeta>(frame).status).toBe(200);
    const out = (JSON.parse(frame.body.toString()) as { outputs: { data: number[] }[] })
      .outputs[0]!;
    out.data.forEach((v, j) => expect(v).toBeCloseTo(gemm([4, 3, 2, 1])[j]!, 4));
  }, 60_000);

  it('still serves through the gateway: small JSON over the link, > 1 MiB over signed HTTP', async () => {
    const linkBefore = await metric('maas_inference_link_requests_total', 'status="200"');
    const httpRoute = 'route="/v2/models/:model/versions/:version/infer",status="200"';
    const httpBefore = await metric('maas_http_requests_total', httpRoute);

    const small = await api('/v2/models/linear/infer', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] },
    });
    expect(small.status).toBe(200);
    const smallOut = ((await small.json()) as { outputs: { data: number[] }[] }).outputs[0]!;
    smallOut.data.forEach((v, j) => expect(v).toBeCloseTo(gemm([1, 1, 1, 1])[j]!, 4));
    expect(await metric('maas_inference_link_requests_total', 'status="200"')).toBe(linkBefore + 1);

    const rows = 60_000;
    const data = Array.from({ length: rows * 4 }, (_, i) => ((i * 7) % 13) - 6.125);
    const large = JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 4], data }],
    });
    expect(Buffer.byteLength(large)).toBeGreaterThan(1024 * 1024);
    const response = await api('/v2/models/linear/infer', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: large,
    });
    expect(response.status).toBe(200);
    const output = ((await response.json()) as { outputs: { shape: number[]; data: number[] }[] })
      .outputs[0]!;
    expect(output.shape).toEqual([rows, 3]);
    const last = data.slice(-4);
    output.data.slice(-3).forEach((v, j) => expect(v).toBeCloseTo(gemm(last)[j]!, 3));
    expect(await metric('maas_http_requests_total', httpRoute)).toBe(httpBefore + 1);
    expect(await metric('maas_inference_link_requests_total', 'status="200"')).toBe(linkBefore + 1);
  });

  it('a gateway with another WORKER_SECRET is refused by the worker, and says why', async () => {
    const failuresBefore = await metric('maas_inference_auth_failures_total');
    const httpBefore = await metric('maas_inference_auth_failures_total', 'transport="http"');
    const impostor = new AppProcess('gateway', await freePort(), {
      ...platform.gateway.env,
      WORKER_SECRET: randomBytes(32).toString('hex'),
    });
    await impostor.start();
    try {
      const viaImpostor = apiFor(impostor.url);
      const json = {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      };
      const response = await viaImpostor('/v2/models/linear/infer', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json,
      });
      // The worker would not take it: the caller sees an unavailable worker, not a 401.
      expect(response.status).toBe(503);
      expect(await response.json()).toHaveProperty('error');
      // Over the link, or over HTTP while its worker directory is still empty at start-up (its
      // log line may reach us after the answer: stdout is a separate pipe).
      await expect
        .poll(() => impostor.logs)
        .toMatch(
          /(worker link handshake failed|worker refused the request signature).*WORKER_SECRET/,
        );
      // Over HTTP (a body past 1 MiB) the worker's 401 is the gateway's fault, not the caller's.
      const rows = 80_000;
      const large = await viaImpostor('/v2/models/linear/infer', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: {
          inputs: [
            {
              name: 'input',
              datatype: 'FP32',
              shape: [rows, 4],
              data: Array.from({ length: rows * 4 }, (_, i) => (i % 9) + 0.25),
            },
          ],
        },
      });
      // The worker hangs up as it answers 401, so the gateway sees the 401 (503: no worker
      // would take it) or the connection closed under a body it was still sending (502: sent
      // and lost, never replayed on another worker), whichever comes first.
      expect([502, 503]).toContain(large.status);
      expect(await metric('maas_inference_auth_failures_total', 'transport="http"')).toBe(
        httpBefore + 1,
      );
      expect(await metric('maas_inference_auth_failures_total')).toBeGreaterThan(failuresBefore);
    } finally {
      await impostor.stop();
    }
  }, 120_000);
});
