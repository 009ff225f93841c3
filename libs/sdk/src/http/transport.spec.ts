import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MaasApiError, MaasNetworkError } from '../errors.js';
import { Transport, type RetryEvent } from './transport.js';
import { prepareUpload, type UploadProgress } from './upload.js';

// A real HTTP server on a free port plays the gateway's refusals; the transport runs over
// Node's own fetch, as it does in production.

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (request: Seen, response: ServerResponse, index: number) => void;

let server: Server;
let baseUrl: string;
let handler: Handler = (_req, res) => res.end();
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const entry = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(entry);
      handler(entry, response, seen.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  seen.length = 0;
});

const problem = (status: number, slug: string, detail: string) =>
  JSON.stringify({
    type: `https://maas.dev/problems/${slug}`,
    title: slug,
    status,
    detail,
    instance: '/x',
    requestId: 'gw-1',
  });

describe('Transport retries', () => {
  it('waits what Retry-After says after a 429 and sends the same request again', async () => {
    handler = (_req, res, index) => {
      if (index === 0) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/problem+json' });
        res.end(problem(429, 'rate-limit-exceeded', 'slow down'));
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    };
    const retries: RetryEvent[] = [];
    const transport = new Transport({ baseUrl, apiKey: 'k1', onRetry: (e) => retries.push(e) });
    const started = Date.now();
    const answer = await transport.json<{ ok: boolean }>({
      method: 'POST',
      path: '/api/models',
      headers: { 'content-type': 'application/json' },
      body: () => '{"name":"m"}',
    });
    expect(answer).toEqual({ ok: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(seen.map((s) => s.body.toString())).toEqual(['{"name":"m"}', '{"name":"m"}']);
    expect(seen[0]!.headers['x-api-key']).toBe('k1');
    // One logical call, one request id, so the gateway's logs tie the attempts together.
    expect(seen[1]!.headers['x-request-id']).toBe(seen[0]!.headers['x-request-id']);
    expect(retries).toEqual([
      expect.objectContaining({ attempt: 1, status: 429, retryAfterSeconds: 1 }),
    ]);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1000);
  });

  it('gives up at once when Retry-After is past what it may wait, with the problem details', async () => {
    handler = (_req, res) => {
      res.writeHead(429, {
        'retry-after': '86400',
        'content-type': 'application/problem+json',
        'x-request-id': 'gw-1',
      });
      res.end(problem(429, 'monthly-quota-exceeded', 'the monthly quota is spent'));
    };
    const error = await new Transport({ baseUrl })
      .json({ method: 'GET', path: '/api/usage' })
      .catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(error).toBeInstanceOf(MaasApiError);
    expect(error).toMatchObject({
      status: 429,
      slug: 'monthly-quota-exceeded',
      title: 'monthly-quota-exceeded',
      detail: 'the monthly quota is spent',
      requestId: 'gw-1',
      retryAfterSeconds: 86400,
    });
  });

  it('retries a 503 with backoff until maxAttempts, then throws', async () => {
    handler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"no worker"}');
    };
    const transport = new Transport({ baseUrl, retry: { maxAttempts: 3, baseDelayMs: 10 } });
    const error = (await transport
      .json({ method: 'POST', path: '/v2/models/m/infer', body: () => '{}' })
      .catch((e: unknown) => e)) as MaasApiError;
    expect(seen).toHaveLength(3);
    // The inference protocols' {error} bodies read like problem details.
    expect(error).toMatchObject({ status: 503, detail: 'no worker', type: 'about:blank' });
  });

  it('never retries a one-shot stream body', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'retry-after': '0' });
      res.end();
    };
    const upload = await prepareUpload(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array([1, 2, 3]));
          c.close();
        },
      }),
    );
    const error = await new Transport({ baseUrl })
      .sendOk({ method: 'POST', path: '/up', body: upload.body, replayable: upload.replayable })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429 });
    expect(seen).toHaveLength(1);
  });

  it('retries a lost connection for GET, never for POST', async () => {
    handler = (req, res, index) => {
      if (index === 0 || req.method === 'POST') {
        res.socket?.destroy();
        return;
      }
      res.end('{"n":1}');
    };
    const transport = new Transport({ baseUrl, retry: { baseDelayMs: 10 } });
    expect(await transport.json({ method: 'GET', path: '/api/models' })).toEqual({ n: 1 });
    expect(seen).toHaveLength(2);
    seen.length = 0;
    const error = await transport
      .json({ method: 'POST', path: '/api/models', body: () => '{}' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaasNetworkError);
    expect(seen).toHaveLength(1);
  });

  it('sends the admin token only where it belongs, and no credential on public routes', async () => {
    handler = (_req, res) => res.end('{}');
    const transport = new Transport({ baseUrl, apiKey: 'key', accessToken: 'jwt' });
    await transport.json({ method: 'GET', path: '/a', credential: 'tenant' });
    await transport.json({ method: 'GET', path: '/b', credential: 'admin' });
    await transport.json({ method: 'GET', path: '/c', credential: 'none' });
    expect(seen.map((s) => [s.headers['x-api-key'], s.headers.authorization])).toEqual([
      ['key', undefined],
      [undefined, 'Bearer jwt'],
      [undefined, undefined],
    ]);
  });
});

describe('uploads', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maas-sdk-upload-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('streams a file and bytes with progress up to their size, and replays a file on 429', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    const path = join(dir, 'model.bin');
    await writeFile(path, bytes);
    handler = (_req, res, index) => {
      if (index === 0) {
        res.writeHead(429, { 'retry-after': '0' });
        res.end();
        return;
      }
      res.end('{}');
    };
    for (const source of [{ path }, bytes]) {
      seen.length = 0;
      const progress: UploadProgress[] = [];
      const upload = await prepareUpload(source, (p) => progress.push(p));
      await new Transport({ baseUrl }).sendOk({
        method: 'POST',
        path: '/up',
        body: upload.body,
        replayable: upload.replayable,
      });
      expect(seen.map((s) => s.body.length)).toEqual(
        'path' in source ? [bytes.length, bytes.length] : [bytes.length],
      );
      expect(Buffer.compare(seen.at(-1)!.body, Buffer.from(bytes))).toBe(0);
      expect(progress.at(-1)).toEqual({ loaded: bytes.length, total: bytes.length });
      expect(progress.length).toBeGreaterThan(1);
      handler = (_req, res) => res.end('{}');
    }
  });
});
