import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { buildGemmModel } from '@maas/onnx';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, apiFor, createTenant, uploadModel } from './serving-helpers.js';

// Every public route of the gateway, fed hostile input: malformed JSON, wrong content types,
// truncated multipart, binary garbage, bad CSV, odd headers. Whatever comes in, the answer is
// an HTTP answer below 500 on the same connection, never a 5xx nor a dropped connection.

interface RawRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer;
}

interface RawAnswer {
  status: number;
  text: string;
}

/**
 * One request over its own TCP connection, written byte for byte as given (so content-length
 * and the other headers can lie), and the first answer read back. Undefined when the server
 * closed or reset the connection without answering.
 */
function rawExchange(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      // An interim 100 Continue (for `expect: 100-continue`) is not the answer.
      const text = Buffer.concat(chunks)
        .toString('latin1')
        .replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (match) resolve({ status: Number(match[1]), text });
      else reject(new Error(`connection closed without an answer (${text.length} bytes read)`));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // One answer is all we wait for: headers and a body as long as it says.
      const text = Buffer.concat(chunks)
        .toString('latin1')
        .replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      const chunked = /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, end));
      const complete = length
        ? Buffer.byteLength(text, 'latin1') - end - 4 >= Number(length[1])
        : chunked && text.endsWith('0\r\n\r\n');
      if (complete) {
        socket.destroy();
        finish();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(new Error('connection dropped without an answer'));
      } else finish();
    });
    const head = [`${request.method} ${request.path} HTTP/1.1`, `host: 127.0.0.1:${port}`];
    for (const [name, value] of request.headers) head.push(`${name}: ${value}`);
    if (!request.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))) {
      head.push(`content-length: ${request.body.length}`);
    }
    head.push('connection: close');
    socket.write(
      Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), request.body]),
    );
  });
}

/** A multipart body carrying `content` as field `file` (its boundary: `fuzzboundary`). */
function multipart(content: Buffer, field = 'file'): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--fuzzboundary\r\ncontent-disposition: form-data; name="${field}"; filename="f"\r\n` +
        'content-type: application/octet-stream\r\n\r\n',
    ),
    content,
    Buffer.from('\r\n--fuzzboundary--\r\n'),
  ]);
}
const MULTIPART = 'multipart/form-data; boundary=fuzzboundary';

describe('hostile input on every public route', () => {
  let platform: TestPlatform;
  let api: Api;
  let port: number;
  let key: string;
  let adminToken: string;
  let sacrificialTenantId: string;
  let routes: { method: string; path: string }[];

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        gateway: {
          API_KEY_REQUESTS_PER_SECOND: '100000',
          API_KEY_BURST: '100000',
          LOGIN_ATTEMPTS_PER_ACCOUNT: '100000',
          LOGIN_ATTEMPTS_PER_IP: '100000',
        },
      },
    });
    api = apiFor(platform.gateway.url);
    port = platform.gateway.port;
    let tenantId: string;
    ({ key, adminToken, tenantId } = await createTenant(platform, 'fuzzed'));
    const quotas = await api(`/api/admin/tenants/${tenantId}/quotas`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}` },
      json: { requestsPerSecond: 100_000, burst: 100_000 },
    });
    expect(quotas.status).toBe(200);
    sacrificialTenantId = (await createTenant(platform, 'sacrificial')).tenantId;
    const gemm = buildGemmModel({
      weights: [
        [1, 0],
        [0, 1],
      ],
      bias: [0, 0],
    });
    // `fuzz` is the model /api/models routes are fuzzed on (they may delete it); `stable`, which
    // no generated request names, shows at the end that the platform still serves.
    await uploadModel(api, key, 'fuzz', gemm);
    await uploadModel(api, key, 'stable', gemm);
    await uploadModel(
      api,
      key,
      'linear',
      buildGemmModel({
        weights: [
          [1, 0],
          [0, 1],
        ],
        bias: [0, 0],
      }),
    );
    // The routes the gateway registered, as its OpenAPI document lists them.
    const document = (await (await api('/docs/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  const send = (request: RawRequest) => rawExchange(port, request);
  const expectAnswered = async (request: RawRequest, statuses?: number[]) => {
    const answer = await send(request);
    const where = `${request.method} ${request.path} answered ${answer.status}: ${answer.text.slice(0, 600)}`;
    if (statuses) expect(statuses, where).toContain(answer.status);
    else expect(answer.status, where).toBeLessThan(500);
    return answer;
  };
  const withKey = (headers: [string, string][] = []): [string, string][] => [
    ['x-api-key', key],
    ...headers,
  ];

  it('lists the routes it fuzzes from the OpenAPI document', () => {
    const listed = routes.map((r) => `${r.method} ${r.path}`);
    for (const route of [
      'POST /api/models/{name}/versions',
      'POST /api/datasets',
      'POST /v2/models/{model}/infer',
      'POST /v1/models/*',
      'POST /api/auth/login',
    ]) {
      expect(listed).toContain(route);
    }
  });

  it('answers 400 to bodies that end early, stray CSV quotes and lying headers', async () => {
    const csv = Buffer.from('a,b\n1,2\n3,4\n');
    // Multipart bodies cut off before their closing boundary (model and dataset uploads).
    for (const path of ['/api/models/linear/versions', '/api/datasets?name=cut']) {
      for (const cut of [40, 90, multipart(csv).length - 10]) {
        const body = multipart(csv).subarray(0, cut);
        const answer = await expectAnswered(
          { method: 'POST', path, headers: withKey([['content-type', MULTIPART]]), body },
          [400],
        );
        expect(answer.text).toMatch(/multipart/i);
      }
    }
    // A stray quote inside a field, raw and as multipart.
    for (const body of [Buffer.from('a,b\n1,x"y\n'), Buffer.from('a,b\n1, "2"\n')]) {
      const raw = await expectAnswered(
        {
          method: 'POST',
          path: '/api/datasets?name=quoted',
          headers: withKey([['content-type', 'text/csv']]),
          body,
        },
        [400],
      );
      expect(raw.text).toMatch(/CSV line 2: Invalid Opening Quote/);
      await expectAnswered(
        {
          method: 'POST',
          path: '/api/datasets?name=quoted',
          headers: withKey([['content-type', MULTIPART]]),
          body: multipart(body),
        },
        [400],
      );
    }
    // content-length that is no number, negative, or given twice differently: Node refuses it.
    for (const length of ['abc', '-1', '1e3', '4, 5']) {
      await expectAnswered(
        {
          method: 'POST',
          path: '/api/models',
          headers: withKey([
            ['content-type', 'application/json'],
            ['content-length', length],
          ]),
          body: Buffer.from('{"name":"x"}'),
        },
        [400],
      );
    }
    // Inference-Header-Content-Length that is no byte count, or past the body.
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
        ],
      }),
    );
    for (const value of ['abc', '-1', '1e3', '99999999999', String(header.length + 9), '']) {
      for (const path of ['/v2/models/linear/infer', '/v2/models/linear/versions/1/infer']) {
        await expectAnswered(
          {
            method: 'POST',
            path,
            headers: withKey([
              ['content-type', 'application/octet-stream'],
              ['inference-header-content-length', value],
            ]),
            body: Buffer.concat([header, Buffer.alloc(8)]),
          },
          [400],
        );
      }
    }
  });

  it('never answers 5xx nor drops the connection, whatever it is sent (fixed seed)', async () => {
    const segment = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
      fc.string({ unit: 'binary-ascii', maxLength: 40 }).map(encodeURIComponent),
      fc.constantFrom(
        '%',
        '%zz',
        '%E0%A4%A',
        '%C0%AF',
        '%00',
        '%0A',
        '%2F',
        '..',
        '%2e%2e',
        'a;b=c',
        '%FF%FE',
        'x'.repeat(300),
        '0',
        '-1',
        '1.5',
        '99999999999',
        randomUUID(),
      ),
    );
    /** Values that reach deeper than a 404: the fixtures' names and ids, by parameter. */
    const known: Record<string, string[]> = {
      model: ['linear'],
      name: ['fuzz'],
      version: ['1', '2'],
      label: ['production', 'canary'],
      id: [sacrificialTenantId],
    };
    const parameter = (name: string) =>
      known[name] ? fc.oneof(fc.constantFrom(...known[name]), segment) : segment;
    const tfServingPath = fc
      .tuple(
        parameter('model'),
        fc.constantFrom('', '/versions/1', '/versions/x', '/labels/production', '/labels/%00'),
        fc.constantFrom(':predict', ':classify', ':regress', '/metadata', '', ':PREDICT', ':x'),
      )
      .map(([model, selector, action]) => `/v1/models/${model}${selector}${action}`);
    const pathOf = (route: { path: string }) => {
      if (route.path === '/v1/models/*') return tfServingPath;
      const names = [...route.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
      return fc
        .tuple(...names.map(parameter))
        .map((values) =>
          names.reduce((path, name, i) => path.replace(`{${name}}`, values[i]!), route.path),
        );
    };
    const query = fc.oneof(
      fc.constant(''),
      fc.constantFrom(
        '?limit=abc',
        '?limit=-1',
        '?limit=100000000',
        '?cursor=%00',
        '?cursor=zz&limit=1',
        '?format=zip',
        '?format=tfjs',
        '?name=%00',
        '?name=ok',
        '?groupBy=nope',
        '?from=yesterday&to=-1',
        '?tenantId=abc',
        '?a=1&a=2',
        '?%=%',
      ),
    );
    const jsonText = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
      fc
        .tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat())
        .map(([value, cut]) => JSON.stringify(value).slice(0, cut)),
      fc.string({ maxLength: 200 }),
      fc.constantFrom(
        '['.repeat(5000),
        '{"__proto__":{"polluted":1}}',
        '{"constructor":{"prototype":{"x":1}}}',
        '{"name":"a\\u0000b","description":"\\u0000","metadata":{"k":"\\u0000"}}',
        '{"name":"' + 'x'.repeat(5000) + '"}',
        '1e999',
        '{"inputs":[{"name":"input","datatype":"FP32","shape":[30000000],"data":[[1]]}]}',
        '{"instances":[' + '{"input":1},'.repeat(50) + '{"input":[1,2]}]}',
        '{"email":"admin@test.local","password":{"$gt":""}}',
      ),
    );
    const inferJson = fc
      .record({
        name: fc.oneof(fc.constant('input'), fc.string({ maxLength: 8 })),
        datatype: fc.oneof(
          fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', 'FP16', 'UINT8'),
          fc.string({ maxLength: 5 }),
        ),
        shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 4 }), fc.constant(2 ** 40)), {
          maxLength: 4,
        }),
        data: fc.jsonValue({ maxDepth: 3 }),
      })
      .map((input) => JSON.stringify({ inputs: [input] }));
    const predictJson = fc
      .tuple(
        fc.constantFrom('instances', 'inputs'),
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.array(fc.array(fc.double(), { maxLength: 3 }), { maxLength: 4 }),
          fc.array(fc.record({ input: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 4 }),
        ),
        fc.option(fc.jsonValue({ maxDepth: 1 })),
      )
      .map(([key, value, signature]) =>
        JSON.stringify({
          [key]: value,
          ...(signature === null ? {} : { signature_name: signature }),
        }),
      );
    /** A binary-extension body: a JSON header (maybe lying about sizes) and raw bytes. */
    const binaryInfer = fc
      .tuple(
        fc.constantFrom('FP32', 'BYTES', 'INT64', 'BOOL', 'XX'),
        fc.array(fc.integer({ min: -1, max: 40 }), { maxLength: 3 }),
        fc.oneof(fc.nat({ max: 64 }), fc.constant(-1), fc.constant(2 ** 40)),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: -2, max: 2 }),
      )
      .map(([datatype, shape, size, bytes, skew]) => {
        const header = Buffer.from(
          JSON.stringify({
            inputs: [{ name: 'input', datatype, shape, parameters: { binary_data_size: size } }],
            parameters: { binary_data_output: true },
          }),
        );
        return {
          type: 'application/octet-stream',
          bytes: Buffer.concat([header, Buffer.from(bytes)]),
          headers: [['inference-header-content-length', String(header.length + skew)]] as [
            string,
            string,
          ][],
        };
      });
    const body: fc.Arbitrary<{ type: string; bytes: Buffer; headers?: [string, string][] }> =
      fc.oneof(
        jsonText.map((text) => ({ type: 'application/json', bytes: Buffer.from(text) })),
        inferJson.map((text) => ({ type: 'application/json', bytes: Buffer.from(text) })),
        predictJson.map((text) => ({ type: 'application/json', bytes: Buffer.from(text) })),
        binaryInfer,
        fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({
          type: 'application/octet-stream',
          bytes: Buffer.from(bytes),
        })),
        fc
          .tuple(fc.uint8Array({ maxLength: 512 }), fc.nat(), fc.constantFrom('file', 'other'))
          .map(([bytes, cut, field]) => {
            const whole = multipart(Buffer.from(bytes), field);
            return { type: MULTIPART, bytes: whole.subarray(0, cut % (whole.length + 1)) };
          }),
        fc
          .array(
            fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', '1', '2.5', ' ', '\u0000', 'é'),
            {
              maxLength: 200,
            },
          )
          .map((parts) => ({ type: 'text/csv', bytes: Buffer.from(parts.join('')) })),
        fc.constant({ type: '', bytes: Buffer.alloc(0) }),
      );
    const contentType = fc.oneof(
      fc.constant(undefined), // the body's own
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'text/csv',
        'application/octet-stream',
        'multipart/form-data',
        'multipart/form-data; boundary=',
        'application/x-www-form-urlencoded',
        ';;;',
        'a/b/c',
      ),
    );
    const auth = fc.constantFrom<[string, string][]>(
      [['x-api-key', 'KEY']],
      [['authorization', 'Bearer ADMIN']],
      [['authorization', 'Bearer KEY']],
      [],
      [['x-api-key', 'maas_live_nope.nope']],
      [['authorization', 'Basic Zm9vOmJhcg==']],
      [['authorization', 'Bearer ' + 'x'.repeat(4000)]],
    );
    const oddHeaders = fc.subarray<[string, string]>([
      ['inference-header-content-length', '-1'],
      ['inference-header-content-length', 'abc'],
      ['inference-header-content-length', '5'],
      ['inference-header-content-length', '99999999999'],
      ['x-request-id', '../../etc/passwd'],
      ['x-forwarded-for', 'not-an-ip, 999.1.1.1'],
      ['accept', '*/*;q=abc'],
      ['content-encoding', 'gzip'],
      ['expect', '100-continue'],
    ]);
    const request = fc
      .tuple(
        fc.constantFrom(...routes),
        fc.constantFrom('', '', '', 'PUT', 'DELETE', 'PATCH'),
        query,
        body,
        contentType,
        auth,
        oddHeaders,
      )
      .chain(([route, otherMethod, q, b, type, authHeaders, odd]) =>
        pathOf(route).map((path): RawRequest => {
          const headers: [string, string][] = authHeaders.map(([name, value]) => [
            name,
            value.replace('KEY', key).replace('ADMIN', adminToken),
          ]);
          const effectiveType = type ?? b.type;
          if (effectiveType) headers.push(['content-type', effectiveType]);
          headers.push(...(b.headers ?? []), ...odd);
          return {
            method: otherMethod || route.method,
            path: `${path}${q}`,
            headers,
            body: b.bytes,
          };
        }),
      );
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (sent) => {
        const answer = await send(sent);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        // 501 is TF Serving's :classify and :regress, which the platform does not implement.
        const unimplementedVerb = answer.status === 501 && /:(classify|regress)\b/i.test(sent.path);
        if (answer.status >= 500 && !unimplementedVerb) {
          throw new Error(
            `${sent.method} ${sent.path} [${sent.headers.map(([n, v]) => `${n}: ${v.slice(0, 40)}`).join('; ')}] body ${JSON.stringify(sent.body.toString('latin1').slice(0, 200))} answered ${answer.text.slice(0, 800)}`,
          );
        }
      }),
      { seed: 20261206, numRuns: 400, endOnFailure: true },
    );
    // The run reached past authentication and routing, not only 401s and 404s.
    expect([...seen.keys()].some((status) => status >= 200 && status < 300)).toBe(true);
    expect(seen.get(400) ?? 0).toBeGreaterThan(20);
    // And the platform still serves.
    const served = await api('/v2/models/stable/infer', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] },
    });
    expect(served.status).toBe(200);
  }, 180_000);
});
