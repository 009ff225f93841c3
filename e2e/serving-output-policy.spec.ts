import {
  attribute,
  buildGemmModel,
  buildModel,
  encodeModel,
  node,
  TensorDataType,
  valueInfo,
} from '@maas/onnx';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, apiFor, createTenant, uploadModel } from './serving-helpers.js';

/** A classifier: probabilities = softmax(features), label = their argmax (INT64). */
function buildSoftmaxClassifier(): Uint8Array {
  return encodeModel(
    buildModel({
      graph: {
        nodes: [
          node('Softmax', ['features'], ['probabilities'], { axis: attribute.int(1) }),
          node('ArgMax', ['probabilities'], ['label'], {
            axis: attribute.int(1),
            keepdims: attribute.int(0),
          }),
        ],
        inputs: [valueInfo('features', TensorDataType.FLOAT, ['batch', 4])],
        outputs: [
          valueInfo('label', TensorDataType.INT64, ['batch']),
          valueInfo('probabilities', TensorDataType.FLOAT, ['batch', 4]),
        ],
      },
    }),
  );
}

const ROWS = [
  [0, 1, 2, 3],
  [3, 0, 0, 0],
];
const softmax = (row: number[]) => {
  const e = row.map(Math.exp);
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => Math.fround(v / sum));
};
const round = (value: number, decimals: number) =>
  Math.round(value * 10 ** decimals) / 10 ** decimals;

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

describe('servingConfig.outputPolicy: what answers reveal, on both protocols', () => {
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  const auth = () => ({ 'x-api-key': key });

  const patch = (model: string, servingConfig: unknown) =>
    api(`/api/models/${model}/versions/1`, {
      method: 'PATCH',
      headers: auth(),
      json: { servingConfig },
    });
  const v2 = (model: string, extra: Record<string, unknown> = {}) =>
    api(`/v2/models/${model}/infer`, {
      method: 'POST',
      headers: auth(),
      json: {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: ROWS.flat() }],
        ...extra,
      },
    });
  const v1 = (model: string) =>
    api(`/v1/models/${model}:predict`, {
      method: 'POST',
      headers: auth(),
      json: { instances: ROWS },
    });
  /** Polls until the workers serve the new policy (they cache version rows for ~2 s). */
  const eventually = async (probe: () => Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error('the policy never took effect');
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    api = apiFor(platform.gateway.url);
    ({ key } = await createTenant(platform, 'policy'));
    await uploadModel(api, key, 'classifier', buildSoftmaxClassifier());
    await uploadModel(
      api,
      key,
      'scorer',
      buildGemmModel({
        weights: [[0.111], [0.222], [0.333], [0.444]],
        bias: [0.0123],
        inputName: 'features',
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses policies with bad values or that the version cannot take (400), changing nothing', async () => {
    for (const outputPolicy of [
      { roundDecimals: -1 },
      { roundDecimals: 11 },
      { roundDecimals: 1.5 },
      { topK: 0 },
      { topK: 'two' },
      { labelOnly: 'yes' },
      { hide: true },
      { labelOnly: true, topK: 2 },
    ]) {
      const answer = await patch('classifier', { outputPolicy });
      expect(answer.status, JSON.stringify(outputPolicy)).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    // A regressor-like [rows, 1] output has no label and no class scores.
    const noLabel = await patch('scorer', { outputPolicy: { labelOnly: true } });
    expect(noLabel.status).toBe(400);
    expect(((await noLabel.json()) as { detail: string }).detail).toMatch(/no label output/);
    const noScores = await patch('scorer', { outputPolicy: { topK: 1 } });
    expect(noScores.status).toBe(400);
    expect(((await noScores.json()) as { detail: string }).detail).toMatch(/no class-score/);
    const version = await api('/api/models/classifier/versions/1', { headers: auth() });
    expect(((await version.json()) as { servingConfig: unknown }).servingConfig).toBeNull();
  });

  it('rounds a regressor’s outputs on both protocols', async () => {
    expect((await patch('scorer', { outputPolicy: { roundDecimals: 1 } })).status).toBe(200);
    const response = await v2('scorer');
    expect(response.status).toBe(200);
    const [output] = ((await response.json()) as { outputs: V2Output[] }).outputs;
    // 0.222 + 0.666 + 1.332 + 0.0123 = 2.2323; 0.333 + 0.0123 = 0.3453.
    expect(output).toMatchObject({
      name: 'output',
      datatype: 'FP64',
      shape: [2, 1],
      data: [2.2, 0.3],
    });
    expect(await (await v1('scorer')).json()).toEqual({ predictions: [[2.2], [0.3]] });
  });

  it('answers the top-k classes with their indices, rounded, then the label only, then everything again', async () => {
    const full = ROWS.map(softmax);
    expect(
      (await patch('classifier', { outputPolicy: { topK: 2, roundDecimals: 3 } })).status,
    ).toBe(200);
    const topK = await v2('classifier');
    expect(topK.status).toBe(200);
    const outputs = ((await topK.json()) as { outputs: V2Output[] }).outputs;
    expect(outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['label', 'INT64', [2]],
      ['probabilities', 'FP64', [2, 2]],
      ['probabilities_indices', 'INT64', [2, 2]],
    ]);
    expect(outputs[0].data).toEqual([3, 0]);
    expect(outputs[1].data).toEqual([
      round(full[0][3], 3),
      round(full[0][2], 3),
      round(full[1][0], 3),
      round(full[1][1], 3),
    ]);
    expect(outputs[2].data).toEqual([3, 2, 0, 1]);
    expect(await (await v1('classifier')).json()).toEqual({
      predictions: [
        {
          label: 3,
          probabilities: [round(full[0][3], 3), round(full[0][2], 3)],
          probabilities_indices: [3, 2],
        },
        {
          label: 0,
          probabilities: [round(full[1][0], 3), round(full[1][1], 3)],
          probabilities_indices: [0, 1],
        },
      ],
    });

    expect((await patch('classifier', { outputPolicy: { labelOnly: true } })).status).toBe(200);
    await eventually(async () => {
      const answer = (await (await v2('classifier')).json()) as { outputs: V2Output[] };
      return answer.outputs.length === 1;
    });
    const labelOnly = (await (await v2('classifier')).json()) as { outputs: V2Output[] };
    expect(labelOnly.outputs).toEqual([
      expect.objectContaining({ name: 'label', datatype: 'INT64', data: [3, 0] }),
    ]);
    expect(await (await v1('classifier')).json()).toEqual({ predictions: [3, 0] });
    // Asking for the withheld scores by name is refused, not answered.
    const asked = await v2('classifier', { outputs: [{ name: 'probabilities' }] });
    expect(asked.status).toBe(400);
    expect(((await asked.json()) as { error: string }).error).toMatch(/label only/);

    expect((await patch('classifier', null)).status).toBe(200);
    await eventually(async () => {
      const answer = (await (await v2('classifier')).json()) as { outputs: V2Output[] };
      return answer.outputs.length === 2;
    });
    const restored = (await (await v2('classifier')).json()) as { outputs: V2Output[] };
    expect(restored.outputs[1]).toMatchObject({ name: 'probabilities', datatype: 'FP32' });
    restored.outputs[1].data.forEach((p, i) => expect(p).toBeCloseTo(full.flat()[i], 6));
  });
});
