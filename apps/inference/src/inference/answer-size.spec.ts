import { encodeInferResponse, encodePredictResponse, type Tensor } from '@maas/tensors';
import { describe, expect, it } from 'vitest';
import {
  AnswerTooLargeError,
  answerBytesAtLeast,
  answerJsonBytesExpected,
  JSON_ELEMENT_BYTES,
} from './answer-size.js';

const outputs: Tensor[] = [
  { name: 'f32', datatype: 'FP32', shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
  { name: 'i64', datatype: 'INT64', shape: [2], data: new BigInt64Array([0n, 7n]) },
  { name: 'flag', datatype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) },
  { name: 'text', datatype: 'BYTES', shape: [2], data: ['', 'héllo'] },
];

describe('answerBytesAtLeast', () => {
  it('never exceeds what the encoders produce, JSON or binary, v2 or TF Serving', () => {
    for (const binary of [false, true]) {
      const encoded = encodeInferResponse(
        { modelName: 'm', outputs },
        { binaryOutputs: binary ? 'all' : 'none' },
      );
      expect(answerBytesAtLeast(outputs, () => binary)).toBeLessThanOrEqual(encoded.body.length);
    }
    const rows = outputs.slice(2); // same first dimension
    for (const format of ['row', 'columnar'] as const) {
      const encoded = encodePredictResponse(rows, format);
      expect(answerBytesAtLeast(rows, () => false)).toBeLessThanOrEqual(encoded.body.length);
    }
  });

  it('counts binary outputs at their raw size, so a huge one is refused before encoding', () => {
    const huge: Tensor = {
      name: 'out',
      datatype: 'FP32',
      shape: [100_000_000],
      data: new Float32Array(100_000_000),
    };
    expect(answerBytesAtLeast([huge], () => true)).toBe(400_000_000);
    expect(answerBytesAtLeast([huge], () => false)).toBe(199_999_999);
  });

  it('expects each element in JSON at its typical written length, not its least', () => {
    // A model's float outputs are rarely integral: 100,000 of them write ~1.9 MB of JSON, where
    // their least is 200 KB (a digit and a comma each).
    const n = 100_000;
    const written: Tensor[] = [
      {
        name: 'f',
        datatype: 'FP32',
        shape: [n],
        data: Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
      },
      {
        name: 'i',
        datatype: 'INT64',
        shape: [n],
        data: BigInt64Array.from({ length: n }, (_, i) => BigInt(1_000_000 + i)),
      },
      { name: 'b', datatype: 'BOOL', shape: [n], data: new Uint8Array(n) },
    ];
    for (const output of written) {
      const bytes = encodeInferResponse({ modelName: 'm', outputs: [output] }).body.length;
      const expected = answerJsonBytesExpected([output], () => false);
      expect(expected).toBe(n * JSON_ELEMENT_BYTES[output.datatype]!);
      expect(expected).toBeLessThanOrEqual(bytes);
      expect(expected).toBeGreaterThan(bytes / 2);
    }
    expect(answerJsonBytesExpected(written.slice(0, 1), () => false)).toBeGreaterThan(
      4 * answerBytesAtLeast(written.slice(0, 1), () => false),
    );
    // Binary outputs are copied, not formatted; strings count at their least.
    expect(answerJsonBytesExpected(written, () => true)).toBe(0);
    const strings = outputs.slice(3);
    expect(answerJsonBytesExpected(strings, () => false)).toBe(
      answerBytesAtLeast(strings, () => false),
    );
  });

  it('says what was too large, as a 422 the tenant can act on', () => {
    const error = new AnswerTooLargeError(400_000_000, 67_108_864);
    expect(error.code).toBe('INVALID_MODEL');
    expect(error.message).toBe(
      "the model's answer (at least 400000000 bytes) is larger than 67108864 bytes, the most one answer may take; ask for fewer rows or outputs",
    );
  });
});
