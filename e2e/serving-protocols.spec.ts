import { once } from 'node:events';
import { connect } from 'node:net';
import { buildGemmModel } from '@maas/onnx';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  buildFixedBatchModel,
  buildIdentityModel,
  buildStringEchoModel,
  buildTwoInTwoOutModel,
  createTenant,
  gemm,
  GEMM_BIAS as B,
  GEMM_WEIGHTS as W,
  GEMM_WEIGHTS_DOUBLED as W2,
  metricValue,
  uploadModel,
} from './serving-helpers.js';

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: Record<string, unknown>;
}

describe('serving protocols through the gateway', () => {
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  const auth = () => ({ 'x-api-key': key });

  beforeAll(async () => {
    platform = await startTestPlatform();
    api = apiFor(platform.gateway.url);
    ({ key } = await createTenant(platform, 'serving'));
    await uploadModel(api, key, 'linear', buildGemmModel({ weights: W, bias: B }));
    await uploadModel(api, key, 'linear', buildGemmModel({ weights: W2, bias: B }));
    await uploadModel(api, key, 'identity', buildIdentityModel());
    await uploadModel(api, key, 'pair', buildTwoInTwoOutModel());
    await uploadModel(api, key, 'echo', buildStringEchoModel());
    await uploadModel(api, key, 'fixed', buildFixedBatchModel());
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  /** `rows` (n × 4 FP32) to linear v1 with the binary tensor extension both ways. */
  const inferBinary = (rows: Float32Array) => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'input',
            datatype: 'FP32',
            shape: [rows.length / 4, 4],
            parameters: { binary_data_size: rows.byteLength },
          },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    return api('/v2/models/linear/versions/1/infer', {
      method: 'POST',
      headers: {
        ...auth(),
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
      },
      body: Buffer.concat([header, Buffer.from(rows.buffer)]),
    });
  };

  describe('Open Inference Protocol v2', () => {
    it('answers server, health, model metadata and readiness with and without a version', async () => {
      expect(await (await api('/v2')).json()).toMatchObject({
        extensions: expect.arrayContaining(['binary_tensor_data']),
      });
      expect((await api('/v2/health/live')).status).toBe(200);
      expect((await api('/v2/health/ready')).status).toBe(200);
      const meta = await api('/v2/models/linear', { headers: auth() });
      expect(await meta.json()).toMatchObject({
        name: 'linear',
        versions: ['1', '2'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
      });
      const v1 = await api('/v2/models/linear/versions/1', { headers: auth() });
      expect(v1.status).toBe(200);
      expect((await api('/v2/models/linear/ready', { headers: auth() })).status).toBe(200);
      expect((await api('/v2/models/linear/versions/2/ready', { headers: auth() })).status).toBe(
        200,
      );
      const missing = await api('/v2/models/linear/versions/9/ready', { headers: auth() });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toHaveProperty('error');
      // Answered ahead of the router: the same error shape and request id for URL and auth
      // mistakes; other methods on an infer URL still reach the router (404).
      const badEncoding = await api('/v2/models/%E0%A4%A/infer', {
        method: 'POST',
        headers: auth(),
        json: { inputs: [] },
      });
      expect(badEncoding.status).toBe(400);
      expect(((await badEncoding.json()) as { error: string }).error).toMatch(/URL encoding/);
      const anonymous = await api('/v2/models/linear/infer', {
        method: 'POST',
        headers: { 'x-request-id': 'no-key-1' },
        json: { inputs: [] },
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('x-request-id')).toBe('no-key-1');
      expect(await anonymous.json()).toEqual({ error: 'an API key is required' });
      const notJson = await api('/v2/models/linear/infer', {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: '{"inputs": [',
      });
      expect(notJson.status).toBe(400);
      expect(((await notJson.json()) as { error: string }).error).toMatch(/not valid JSON/);
      const get = await api('/v2/models/linear/infer', { headers: auth() });
      expect(get.status).toBe(404);
    });

    it('runs every datatype with flat and nested data and returns the same values', async () => {
      const values: Record<string, unknown[]> = {
        BOOL: [true, false, false, true],
        UINT8: [0, 255, 7, 128],
        UINT16: [0, 65535, 1, 2],
        UINT32: [0, 4294967295, 3, 4],
        UINT64: [0, 1, 2, 3],
        INT8: [-128, 127, 0, -1],
        INT16: [-32768, 32767, 5, -5],
        INT32: [-2147483648, 2147483647, 9, -9],
        INT64: [-5, 6, 7, -8],
        FP16: [1.5, -2, 0.25, 1024],
        FP32: [1.25, -3.5, 0, 1e-3],
        FP64: [Math.PI, -Math.E, 1e300, -0.5],
        BYTES: ['a', 'héllo', '', 'zzz'],
      };
      const inputs = Object.entries(values).map(([datatype, data], i) => ({
        name: `in_${datatype}`,
        datatype,
        shape: [2, 2],
        // Alternate flat and nested layouts.
        data: i % 2 === 0 ? data : [data.slice(0, 2), data.slice(2)],
      }));
      const response = await api('/v2/models/identity/infer', {
        method: 'POST',
        headers: auth(),
        json: { id: 'all-types', parameters: { priority: 1 }, inputs },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id: string; outputs: V2Output[] };
      expect(body.id).toBe('all-types');
      for (const [datatype, data] of Object.entries(values)) {
        const output = body.outputs.find((o) => o.name === `out_${datatype}`)!;
        expect(output, datatype).toMatchObject({ datatype, shape: [2, 2] });
        if (datatype === 'FP32') {
          output.data!.forEach((v, i) => expect(v).toBeCloseTo(data[i] as number, 6));
        } else {
          expect(output.data, datatype).toEqual(data);
        }
      }
    });

    it('keeps 64-bit integers exact in JSON', async () => {
      const big = '9007199254740993'; // 2^53 + 1
      const text = `{"inputs":[${Object.keys({
        BOOL: 1,
        UINT8: 1,
        UINT16: 1,
        UINT32: 1,
        UINT64: 1,
        INT8: 1,
        INT16: 1,
        INT32: 1,
        INT64: 1,
        FP16: 1,
        FP32: 1,
        FP64: 1,
        BYTES: 1,
      })
        .map((t) => {
          const data =
            t === 'INT64'
              ? `[${big},-${big}]`
              : t === 'UINT64'
                ? '[18446744073709551615,0]'
                : t === 'BOOL'
                  ? '[true,false]'
                  : t === 'BYTES'
                    ? '["x","y"]'
                    : '[1,2]';
          return `{"name":"in_${t}","datatype":"${t}","shape":[1,2],"data":${data}}`;
        })
        .join(',')}],"outputs":[{"name":"out_INT64"},{"name":"out_UINT64"}]}`;
      const response = await api('/v2/models/identity/infer', {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: text,
      });
      expect(response.status).toBe(200);
      const raw = await response.text();
      expect(raw).toContain(`[${big},-${big}]`);
      expect(raw).toContain('[18446744073709551615,0]');
      // `outputs` selects: only the two asked for come back.
      expect((JSON.parse(raw) as { outputs: V2Output[] }).outputs.map((o) => o.name)).toEqual([
        'out_INT64',
        'out_UINT64',
      ]);
    });

    it('runs several inputs and outputs, selects outputs, and picks explicit versions', async () => {
      const a = [1, 2, 3, 4, 5, 6];
      const b = [10, 20, 30, 40, 50, 60];
      const response = await api('/v2/models/pair/versions/1/infer', {
        method: 'POST',
        headers: auth(),
        json: {
          inputs: [
            { name: 'a', datatype: 'FP32', shape: [2, 3], data: a },
            { name: 'b', datatype: 'FP32', shape: [2, 3], data: b },
          ],
          outputs: [{ name: 'product' }],
        },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { model_version: string; outputs: V2Output[] };
      expect(body.model_version).toBe('1');
      expect(body.outputs).toEqual([
        { name: 'product', datatype: 'FP32', shape: [2, 3], data: a.map((x, i) => x * b[i]!) },
      ]);

      const row = [1, 1, 1, 1];
      for (const [version, w] of [
        ['1', W],
        ['2', W2],
      ] as const) {
        const r = await api(`/v2/models/linear/versions/${version}/infer`, {
          method: 'POST',
          headers: auth(),
          json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }] },
        });
        const out = ((await r.json()) as { outputs: V2Output[] }).outputs[0]!;
        (out.data as number[]).forEach((v, i) => expect(v).toBeCloseTo(gemm(row, w)[i]!, 5));
      }
    });

    it('speaks the binary tensor data extension in both directions', async () => {
      const rows = new Float32Array([1, 2, 3, 4, -1, 0.5, 0, 2]);
      const response = await inferBinary(rows);
      expect(response.status).toBe(200);
      const headerLength = Number(response.headers.get('inference-header-content-length'));
      expect(headerLength).toBeGreaterThan(0);
      const bytes = Buffer.from(await response.arrayBuffer());
      const json = JSON.parse(bytes.subarray(0, headerLength).toString()) as {
        outputs: V2Output[];
      };
      expect(json.outputs[0]).toMatchObject({
        name: 'output',
        shape: [2, 3],
        parameters: { binary_data_size: 24 },
      });
      const tail = bytes.subarray(headerLength);
      const out = new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + 24));
      const want = [...gemm([1, 2, 3, 4]), ...gemm([-1, 0.5, 0, 2])];
      [...out].forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));

      // A BYTES input in binary form: 4-byte little-endian length before each element.
      const strings = ['hi', 'ünï'].map((s) => Buffer.from(s));
      const payload = Buffer.concat(
        strings.flatMap((s) => {
          const len = Buffer.alloc(4);
          len.writeUInt32LE(s.length);
          return [len, s];
        }),
      );
      const h2 = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: 'text',
              datatype: 'BYTES',
              shape: [2],
              parameters: { binary_data_size: payload.length },
            },
          ],
        }),
      );
      const echo = await api('/v2/models/echo/infer', {
        method: 'POST',
        headers: { ...auth(), 'inference-header-content-length': String(h2.length) },
        body: Buffer.concat([h2, payload]),
      });
      expect(echo.status).toBe(200);
      expect(((await echo.json()) as { outputs: V2Output[] }).outputs[0]!.data).toEqual([
        'hi',
        'ünï',
      ]);
    });

    it('answers mismatches with 400 naming the input, unknown models with 404', async () => {
      const cases: [unknown, RegExp][] = [
        [
          { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
          /input 'input'/,
        ],
        [
          { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3] }] },
          /input 'input'/,
        ],
        [
          { inputs: [{ name: 'input', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }] },
          /input 'input'/,
        ],
        [
          { inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] },
          /nope/,
        ],
      ];
      for (const [json, message] of cases) {
        const response = await api('/v2/models/linear/infer', {
          method: 'POST',
          headers: auth(),
          json,
        });
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: string }).error).toMatch(message);
      }
      const unknownOutput = await api('/v2/models/linear/infer', {
        method: 'POST',
        headers: auth(),
        json: {
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
          outputs: [{ name: 'nope' }],
        },
      });
      expect(unknownOutput.status).toBe(400);
      const missing = await api('/v2/models/ghost/infer', {
        method: 'POST',
        headers: auth(),
        json: { inputs: [] },
      });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toHaveProperty('error');
    });

    it('streams bodies and answers over 1 MiB through the gateway, and survives a client that hangs up', async () => {
      // 100,000 rows: a 1.6 MB request and a 1.2 MB binary answer, both past what the gateway
      // holds in memory, so both stream (gateway → worker over HTTP, answer piped back).
      const overHttp = () =>
        metricValue(
          platform.inference.opsUrl,
          'maas_http_requests_total',
          'route="/v2/models/:model/versions/:version/infer",status="200"',
        );
      const before = await overHttp();
      const count = 100_000;
      const rows = new Float32Array(count * 4);
      for (let i = 0; i < rows.length; i++) rows[i] = ((i * 7) % 13) - 6;
      const response = await inferBinary(rows);
      expect(response.status).toBe(200);
      const answer = Buffer.from(await response.arrayBuffer());
      const headerLength = Number(response.headers.get('inference-header-content-length'));
      const tail = answer.subarray(headerLength);
      expect(tail.length).toBe(count * 3 * 4);
      const out = new Float32Array(
        tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.length),
      );
      let wrong = 0;
      for (let r = 0; r < count; r++) {
        const want = gemm(Array.from(rows.subarray(r * 4, r * 4 + 4)));
        for (let j = 0; j < 3; j++) if (Math.abs(out[r * 3 + j]! - want[j]!) > 1e-4) wrong++;
      }
      expect(wrong).toBe(0);
      expect(await overHttp()).toBe(before + 1);

      // A client that sends half a body and hangs up costs nothing else.
      const { port } = new URL(platform.gateway.url);
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        `POST /v2/models/linear/infer HTTP/1.1\r\nhost: x\r\nx-api-key: ${key}\r\n` +
          'content-type: application/json\r\ncontent-length: 2000000\r\n\r\n{"inputs": [',
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();
      const after = await api('/v2/models/linear/versions/1/infer', {
        method: 'POST',
        headers: auth(),
        json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] },
      });
      expect(after.status).toBe(200);
    });

    it('serves a model whose first dimension is fixed', async () => {
      const response = await api('/v2/models/fixed/infer', {
        method: 'POST',
        headers: auth(),
        json: { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }] },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { outputs: V2Output[] }).outputs[0]!.data).toEqual([
        2, 4, 6, 8,
      ]);
    });
  });

  describe('TensorFlow Serving REST v1', () => {
    it('reports model and version status, by version and by label', async () => {
      const all = await api('/v1/models/linear', { headers: auth() });
      expect(all.status).toBe(200);
      expect(await all.json()).toEqual({
        model_version_status: [
          { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
          { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
        ],
      });
      const one = await api('/v1/models/linear/versions/1', { headers: auth() });
      expect(
        ((await one.json()) as { model_version_status: unknown[] }).model_version_status,
      ).toEqual([
        { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ]);
      const label = await api('/api/models/linear/labels/stable', {
        method: 'PUT',
        headers: auth(),
        json: { version: 1 },
      });
      expect(label.status).toBeLessThan(300);
      const byLabel = await api('/v1/models/linear/labels/stable', { headers: auth() });
      expect(await byLabel.json()).toMatchObject({ model_version_status: [{ version: '1' }] });
      const missing = await api('/v1/models/ghost', { headers: auth() });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toHaveProperty('error');
    });

    it('serves metadata as a signature_def', async () => {
      const response = await api('/v1/models/pair/metadata', { headers: auth() });
      expect(response.status).toBe(200);
      interface Signature {
        method_name: string;
        inputs: Record<string, unknown>;
        outputs: Record<string, unknown>;
      }
      const body = (await response.json()) as {
        model_spec: unknown;
        metadata: { signature_def: { signature_def: { serving_default: Signature } } };
      };
      expect(body.model_spec).toEqual({ name: 'pair', signature_name: '', version: '1' });
      const signature = body.metadata.signature_def.signature_def.serving_default;
      expect(signature.method_name).toBe('tensorflow/serving/predict');
      expect(signature.inputs.a).toEqual({
        dtype: 'DT_FLOAT',
        tensor_shape: {
          dim: [
            { size: '-1', name: '' },
            { size: '3', name: '' },
          ],
          unknown_rank: false,
        },
        name: 'a',
      });
      expect(Object.keys(signature.outputs)).toEqual(['sum', 'product']);
      const versioned = await api('/v1/models/linear/versions/2/metadata', { headers: auth() });
      expect(await versioned.json()).toMatchObject({ model_spec: { version: '2' } });
    });

    it('predicts in the row and columnar forms, by version and label', async () => {
      const rows = [
        [1, 2, 3, 4],
        [-1, 0.5, 0, 2],
      ];
      const row = await api('/v1/models/linear/versions/1:predict', {
        method: 'POST',
        headers: auth(),
        json: { signature_name: 'serving_default', instances: rows },
      });
      expect(row.status).toBe(200);
      const predictions = ((await row.json()) as { predictions: number[][] }).predictions;
      predictions.forEach((p, r) =>
        p.forEach((v, j) => expect(v).toBeCloseTo(gemm(rows[r]!)[j]!, 5)),
      );

      const columnar = await api('/v1/models/linear/labels/stable:predict', {
        method: 'POST',
        headers: auth(),
        json: { inputs: { input: rows } },
      });
      expect(columnar.status).toBe(200);
      const outputs = ((await columnar.json()) as { outputs: number[][] }).outputs;
      expect(outputs).toHaveLength(2);
      outputs[1]!.forEach((v, j) => expect(v).toBeCloseTo(gemm(rows[1]!)[j]!, 5));

      // Default resolution: newest ready version (2, with doubled weights).
      const latest = await api('/v1/models/linear:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [[1, 1, 1, 1]] },
      });
      ((await latest.json()) as { predictions: number[][] }).predictions[0]!.forEach((v, j) =>
        expect(v).toBeCloseTo(gemm([1, 1, 1, 1], W2)[j]!, 5),
      );
      // Route keywords are case-insensitive, as in TF Serving.
      const mixedCase = await api('/v1/models/linear/Versions/1:Predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [[0, 0, 0, 0]] },
      });
      expect(mixedCase.status).toBe(200);

      const pair = await api('/v1/models/pair:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [{ a: [1, 2, 3], b: [2, 2, 2] }] },
      });
      expect(await pair.json()).toEqual({
        predictions: [{ sum: [3, 4, 5], product: [2, 4, 6] }],
      });
    });

    it('takes and gives bytes as {"b64": ...}', async () => {
      const response = await api('/v1/models/echo:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [{ b64: Buffer.from('hello').toString('base64') }, 'plain'] },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        predictions: [
          { b64: Buffer.from('hello').toString('base64') },
          { b64: Buffer.from('plain').toString('base64') },
        ],
      });
    });

    it('answers errors as {"error"} with TF Serving status codes', async () => {
      const bad = await api('/v1/models/linear/versions/1:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [[1, 2, 3]] },
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/input 'input'/);
      const both = await api('/v1/models/linear:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] },
      });
      expect(both.status).toBe(400);
      const malformed = await api('/v1/models/linear:predict', {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: '{"instances": [',
      });
      expect(malformed.status).toBe(400);
      const noVersion = await api('/v1/models/linear/versions/7:predict', {
        method: 'POST',
        headers: auth(),
        json: { instances: [[1, 2, 3, 4]] },
      });
      expect(noVersion.status).toBe(404);
      expect(await noVersion.json()).toHaveProperty('error');
      const noKey = await api('/v1/models/linear:predict', {
        method: 'POST',
        json: { instances: [[1, 2, 3, 4]] },
      });
      expect(noKey.status).toBe(401);
    });
  });
});
