import { buildModel, encodeModel, node, TensorDataType, valueInfo } from '@maas/onnx';
import {
  adminToken,
  createTenantWithKey,
  jsonApi,
  type JsonApi,
  type TestPlatform,
} from '@maas/testing';

export type Api = JsonApi;

/** The serving specs' Gemm 4 -> 3 model (input [-1, 4] FP32): output = input · W + b. */
export const GEMM_WEIGHTS = [
  [1, 0, 0.5],
  [0, 1, -1],
  [2, 0, 0],
  [0, -3, 1],
];
export const GEMM_BIAS = [0.5, -0.5, 2];
/** A second version's weights: doubled, so it answers differently. */
export const GEMM_WEIGHTS_DOUBLED = GEMM_WEIGHTS.map((row) => row.map((v) => v * 2));
/** What the Gemm model answers for one row. */
export const gemm = (row: number[], weights = GEMM_WEIGHTS): number[] =>
  GEMM_BIAS.map((bias, j) => row.reduce((sum, value, i) => sum + value * weights[i]![j]!, bias));

/** fetch against `baseUrl` with a `json` shorthand. */
export const apiFor = (baseUrl: string): Api => jsonApi(baseUrl);

/** Logs the admin in and creates a tenant with an API key; returns the key and admin token. */
export async function createTenant(
  platform: TestPlatform,
  name: string,
): Promise<{ tenantId: string; key: string; adminToken: string }> {
  const token = await adminToken(platform);
  const { tenantId, key } = await createTenantWithKey(platform, name, { token });
  return { tenantId, key, adminToken: token };
}

/** Creates a model and uploads one ONNX version; returns the version number. */
export async function uploadModel(
  api: Api,
  key: string,
  name: string,
  onnx: Uint8Array,
): Promise<number> {
  const create = await api('/api/models', {
    method: 'POST',
    headers: { 'x-api-key': key },
    json: { name },
  });
  if (create.status !== 201 && create.status !== 409) {
    throw new Error(`create model ${name}: ${create.status} ${await create.text()}`);
  }
  const upload = await api(`/api/models/${name}/versions`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/octet-stream' },
    body: Buffer.from(onnx),
  });
  if (upload.status !== 201) {
    throw new Error(`upload ${name}: ${upload.status} ${await upload.text()}`);
  }
  return ((await upload.json()) as { version: number }).version;
}

/** ONNX datatypes the identity model covers, by v2 datatype. */
export const IDENTITY_TYPES = {
  BOOL: TensorDataType.BOOL,
  UINT8: TensorDataType.UINT8,
  UINT16: TensorDataType.UINT16,
  UINT32: TensorDataType.UINT32,
  UINT64: TensorDataType.UINT64,
  INT8: TensorDataType.INT8,
  INT16: TensorDataType.INT16,
  INT32: TensorDataType.INT32,
  INT64: TensorDataType.INT64,
  FP16: TensorDataType.FLOAT16,
  FP32: TensorDataType.FLOAT,
  FP64: TensorDataType.DOUBLE,
  BYTES: TensorDataType.STRING,
} as const;

/** One input `in_<type>` [batch, 2] per datatype, each copied to `out_<type>` by Identity. */
export function buildIdentityModel(): Uint8Array {
  const entries = Object.entries(IDENTITY_TYPES);
  return encodeModel(
    buildModel({
      graph: {
        nodes: entries.map(([t]) => node('Identity', [`in_${t}`], [`out_${t}`])),
        inputs: entries.map(([t, onnx]) => valueInfo(`in_${t}`, onnx, ['batch', 2])),
        outputs: entries.map(([t, onnx]) => valueInfo(`out_${t}`, onnx, ['batch', 2])),
      },
    }),
  );
}

/** Two FP32 inputs a, b [batch, 3] → sum = a + b and product = a * b. */
export function buildTwoInTwoOutModel(): Uint8Array {
  return encodeModel(
    buildModel({
      graph: {
        nodes: [node('Add', ['a', 'b'], ['sum']), node('Mul', ['a', 'b'], ['product'])],
        inputs: [
          valueInfo('a', TensorDataType.FLOAT, ['batch', 3]),
          valueInfo('b', TensorDataType.FLOAT, ['batch', 3]),
        ],
        outputs: [
          valueInfo('sum', TensorDataType.FLOAT, ['batch', 3]),
          valueInfo('product', TensorDataType.FLOAT, ['batch', 3]),
        ],
      },
    }),
  );
}

/** BYTES `text` [batch] → `text_bytes` (same strings; TF Serving answers `*_bytes` as b64). */
export function buildStringEchoModel(): Uint8Array {
  return encodeModel(
    buildModel({
      graph: {
        nodes: [node('Identity', ['text'], ['text_bytes'])],
        inputs: [valueInfo('text', TensorDataType.STRING, ['batch'])],
        outputs: [valueInfo('text_bytes', TensorDataType.STRING, ['batch'])],
      },
    }),
  );
}

/** FP32 `input` [2, 2] (fixed first dim: never batched) → `output` = input + input. */
export function buildFixedBatchModel(): Uint8Array {
  return encodeModel(
    buildModel({
      graph: {
        nodes: [node('Add', ['input', 'input'], ['output'])],
        inputs: [valueInfo('input', TensorDataType.FLOAT, [2, 2])],
        outputs: [valueInfo('output', TensorDataType.FLOAT, [2, 2])],
      },
    }),
  );
}

/** Reads a Prometheus series' value (summing label sets that match `labels`). */
export async function metricValue(baseUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const [series, value] = line.split(' ');
    if (series !== name && !series!.startsWith(`${name}{`)) continue;
    if (labels && !series!.includes(labels)) continue;
    total += Number(value);
  }
  return total;
}
