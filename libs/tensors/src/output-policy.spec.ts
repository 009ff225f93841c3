import { describe, expect, it } from 'vitest';
import { numberToFloat16Bits } from './half-float.js';
import { encodeInferResponse } from './infer-response.encoder.js';
import {
  applyOutputPolicy,
  isWithheldOutput,
  outputPolicyFrom,
  outputPolicyProblem,
} from './output-policy.js';
import { encodePredictResponse } from './predict.codec.js';
import type { Tensor, TensorSpec } from './tensor.js';

const probabilities: Tensor = {
  name: 'probabilities',
  datatype: 'FP32',
  shape: [2, 4],
  data: Float32Array.of(0.1, 0.6, 0.05, 0.25, 0.3, 0.3, 0.4, 0),
};
const label: Tensor = { name: 'label', datatype: 'BYTES', shape: [2], data: ['b', 'c'] };
const classifier: TensorSpec[] = [
  { name: 'label', datatype: 'BYTES', shape: [-1] },
  { name: 'probabilities', datatype: 'FP32', shape: [-1, 4] },
];
const regressor: TensorSpec[] = [{ name: 'prediction', datatype: 'FP32', shape: [-1, 1] }];

describe('output policy', () => {
  it('rounds every floating output to N decimals, and JSON shows exactly those decimals', () => {
    const prediction: Tensor = {
      name: 'prediction',
      datatype: 'FP32',
      shape: [3, 1],
      data: Float32Array.of(7.123456, -0.98765, 1e-9),
    };
    const [answer] = applyOutputPolicy([prediction], { roundDecimals: 2 });
    expect(answer).toMatchObject({ name: 'prediction', datatype: 'FP64', shape: [3, 1] });
    expect(Array.from(answer.data as Float64Array)).toEqual([7.12, -0.99, 0]);
    const v2 = JSON.parse(
      encodeInferResponse({ modelName: 'm', outputs: [answer] }).body.toString(),
    );
    expect(v2.outputs[0].data).toEqual([7.12, -0.99, 0]);
    expect(encodePredictResponse([answer], 'row').body.toString()).toBe(
      '{"predictions":[[7.12],[-0.99],[0]]}',
    );
    // Half floats are rounded from their values; integers and labels are left alone.
    const half: Tensor = {
      name: 'h',
      datatype: 'FP16',
      shape: [1],
      data: Uint16Array.of(numberToFloat16Bits(0.3333)),
    };
    const counts: Tensor = { name: 'n', datatype: 'INT64', shape: [1], data: BigInt64Array.of(5n) };
    const [h, n, l] = applyOutputPolicy([half, counts, label], { roundDecimals: 1 });
    expect(Array.from(h.data as Float64Array)).toEqual([0.3]);
    expect(n).toBe(counts);
    expect(l).toBe(label);
  });

  it('answers the k best classes of a score output, best first, with their indices', () => {
    const answered = applyOutputPolicy([label, probabilities], { topK: 2 });
    expect(answered.map((o) => o.name)).toEqual([
      'label',
      'probabilities',
      'probabilities_indices',
    ]);
    const [, scores, indices] = answered;
    expect(scores).toMatchObject({ datatype: 'FP32', shape: [2, 2] });
    expect(Array.from(scores.data as Float32Array)).toEqual([
      Math.fround(0.6),
      Math.fround(0.25),
      Math.fround(0.4),
      Math.fround(0.3),
    ]);
    // Ties go to the lower class index.
    expect(indices).toMatchObject({ datatype: 'INT64', shape: [2, 2] });
    expect(Array.from(indices.data as BigInt64Array)).toEqual([1n, 3n, 2n, 0n]);
    // k past the class count keeps every class, sorted.
    const all = applyOutputPolicy([probabilities], { topK: 10, roundDecimals: 1 });
    expect(all[0].shape).toEqual([2, 4]);
    expect(Array.from(all[0].data as Float64Array)).toEqual([0.6, 0.3, 0.1, 0.1, 0.4, 0.3, 0.3, 0]);
    // TF Serving rows carry the cut scores and their indices side by side.
    const [row] = JSON.parse(
      encodePredictResponse(
        applyOutputPolicy([label, probabilities], { topK: 1 }),
        'row',
      ).body.toString(),
    ).predictions;
    expect(row).toEqual({
      label: 'b',
      probabilities: [Math.fround(0.6)],
      probabilities_indices: [1],
    });
  });

  it('leaves a single-column output alone under topK (a regression prediction is no score)', () => {
    const prediction: Tensor = {
      name: 'prediction',
      datatype: 'FP32',
      shape: [1, 1],
      data: Float32Array.of(3),
    };
    expect(applyOutputPolicy([prediction], { topK: 1 })).toEqual([prediction]);
  });

  it('answers only the label under labelOnly', () => {
    expect(applyOutputPolicy([label, probabilities], { labelOnly: true })).toEqual([label]);
    expect(isWithheldOutput({ labelOnly: true }, { datatype: 'FP32' })).toBe(true);
    expect(isWithheldOutput({ labelOnly: true }, { datatype: 'INT64' })).toBe(false);
    expect(isWithheldOutput({ topK: 1 }, { datatype: 'FP32' })).toBe(false);
    expect(applyOutputPolicy([label, probabilities], null)).toEqual([label, probabilities]);
  });

  it('refuses a policy the version cannot take', () => {
    expect(outputPolicyProblem({ labelOnly: true }, classifier)).toBeNull();
    expect(outputPolicyProblem({ topK: 2, roundDecimals: 3 }, classifier)).toBeNull();
    expect(outputPolicyProblem({ roundDecimals: 3 }, regressor)).toBeNull();
    expect(outputPolicyProblem({ labelOnly: true }, regressor)).toMatch(/no label output/);
    expect(outputPolicyProblem({ topK: 1 }, regressor)).toMatch(/no class-score output/);
    expect(outputPolicyProblem({ labelOnly: true, topK: 1 }, classifier)).toMatch(/leave out/);
    expect(
      outputPolicyProblem({ topK: 1 }, [
        ...classifier,
        { name: 'probabilities_indices', datatype: 'INT64', shape: [-1, 1] },
      ]),
    ).toMatch(/already exists/);
  });

  it('reads a stored serving config defensively', () => {
    expect(outputPolicyFrom(null)).toBeNull();
    expect(outputPolicyFrom({ maxBatchSize: 8 })).toBeNull();
    expect(outputPolicyFrom({ outputPolicy: { labelOnly: false } })).toBeNull();
    expect(outputPolicyFrom({ outputPolicy: { topK: 2, roundDecimals: 3 } })).toEqual({
      topK: 2,
      roundDecimals: 3,
    });
    expect(outputPolicyFrom({ outputPolicy: { topK: 'two', roundDecimals: -1 } })).toBeNull();
  });
});
