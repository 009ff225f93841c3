import { describe, expect, it } from 'vitest';
import { DATATYPES } from './datatype.js';
import { decodeInferRequest } from './infer-request.decoder.js';
import { encodeInferResponse } from './infer-response.encoder.js';
import { numberToFloat16Bits } from './half-float.js';
import type { Tensor } from './tensor.js';
import { TensorError } from './tensor.error.js';
import { plain, sampleTensor } from './tensor.fixtures.js';

/**
 * Feeds an encoded response back through the request decoder: response outputs have the same
 * layout as request inputs, so renaming "outputs" to "inputs" in the header is enough.
 */
function decodeAsRequest(body: Buffer, headerLength?: number): Tensor[] {
  const headerEnd = headerLength ?? body.length;
  const header = body.toString('utf8', 0, headerEnd).replace('"outputs":[', '"inputs":[');
  const headerBytes = Buffer.from(header, 'utf8');
  const rebuilt = Buffer.concat([headerBytes, body.subarray(headerEnd)]);
  return decodeInferRequest(
    rebuilt,
    headerLength === undefined ? {} : { headerLength: headerBytes.length },
  ).inputs;
}

describe('encodeInferResponse', () => {
  it('writes the v2 JSON response shape', () => {
    const encoded = encodeInferResponse({
      modelName: 'iris',
      modelVersion: '3',
      id: 'req-1',
      parameters: { queue_ms: 1 },
      outputs: [
        {
          name: 'probabilities',
          datatype: 'FP32',
          shape: [1, 3],
          data: Float32Array.of(0.25, 0.5, 0.25),
        },
        { name: 'label', datatype: 'BYTES', shape: [1], data: ['setosa'] },
        { name: 'ok', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
      ],
    });
    expect(encoded.contentType).toBe('application/json');
    expect(encoded.headerLength).toBeUndefined();
    expect(JSON.parse(encoded.body.toString())).toEqual({
      model_name: 'iris',
      model_version: '3',
      id: 'req-1',
      parameters: { queue_ms: 1 },
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: [0.25, 0.5, 0.25] },
        { name: 'label', datatype: 'BYTES', shape: [1], data: ['setosa'] },
        { name: 'ok', datatype: 'BOOL', shape: [2], data: [true, false] },
      ],
    });
  });

  it('round-trips every datatype through JSON', () => {
    const outputs = DATATYPES.map((datatype) => sampleTensor(datatype));
    const encoded = encodeInferResponse({ modelName: 'm', outputs });
    const decoded = decodeAsRequest(encoded.body);
    decoded.forEach((tensor, i) => expect(tensor, outputs[i]?.datatype).toEqual(outputs[i]));
  });

  it('round-trips every datatype through binary data', () => {
    const outputs = DATATYPES.map((datatype) => sampleTensor(datatype));
    const encoded = encodeInferResponse({ modelName: 'm', outputs }, { binaryOutputs: 'all' });
    expect(encoded.contentType).toBe('application/octet-stream');
    const header = JSON.parse(encoded.body.toString('utf8', 0, encoded.headerLength)) as {
      outputs: { name: string; data?: unknown; parameters: { binary_data_size: number } }[];
    };
    expect(header.outputs.every((output) => output.data === undefined)).toBe(true);
    expect(header.outputs.find((o) => o.name === 't_fp32')?.parameters.binary_data_size).toBe(16);
    const decoded = decodeAsRequest(encoded.body, encoded.headerLength);
    decoded.forEach((tensor, i) => {
      const expected = outputs[i] as Tensor;
      if (expected.datatype === 'BYTES') expect(plain(tensor.data)).toEqual(expected.data);
      else expect(tensor, expected.datatype).toEqual(expected);
    });
  });

  it('mixes binary and JSON outputs, binary bytes in output order', () => {
    const encoded = encodeInferResponse(
      {
        modelName: 'm',
        outputs: [
          { name: 'a', datatype: 'INT32', shape: [2], data: Int32Array.of(1, -1) },
          { name: 'b', datatype: 'FP32', shape: [1], data: Float32Array.of(2) },
          { name: 'c', datatype: 'UINT8', shape: [1], data: Uint8Array.of(9) },
        ],
      },
      { binaryOutputs: new Set(['a', 'c']) },
    );
    const header = JSON.parse(encoded.body.toString('utf8', 0, encoded.headerLength));
    expect(header.outputs[1]).toEqual({ name: 'b', datatype: 'FP32', shape: [1], data: [2] });
    expect(header.outputs[0].parameters).toEqual({ binary_data_size: 8 });
    expect([...encoded.body.subarray(encoded.headerLength)]).toEqual([
      1, 0, 0, 0, 255, 255, 255, 255, 9,
    ]);
  });

  it('writes INT64 and UINT64 beyond 2^53 as exact integer literals', () => {
    const encoded = encodeInferResponse({
      modelName: 'm',
      outputs: [
        {
          name: 'i',
          datatype: 'INT64',
          shape: [2],
          data: BigInt64Array.of(9007199254740993n, -(2n ** 63n)),
        },
        { name: 'u', datatype: 'UINT64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
      ],
    });
    const text = encoded.body.toString();
    expect(text).toContain('"data":[9007199254740993,-9223372036854775808]');
    expect(text).toContain('"data":[18446744073709551615]');
  });

  it('writes FP16 asked as JSON as numbers, and NaN/Infinity as null', () => {
    const encoded = encodeInferResponse({
      modelName: 'm',
      outputs: [
        {
          name: 'h',
          datatype: 'FP16',
          shape: [2],
          data: Uint16Array.from([0.5, -3], numberToFloat16Bits),
        },
        { name: 'f', datatype: 'FP32', shape: [3], data: Float32Array.of(1, NaN, -Infinity) },
      ],
    });
    const body = JSON.parse(encoded.body.toString());
    expect(body.outputs[0].data).toEqual([0.5, -3]);
    expect(body.outputs[1].data).toEqual([1, null, null]);
  });

  it('rejects outputs whose data does not match datatype or shape', () => {
    const bad = (output: Tensor) => () =>
      encodeInferResponse({ modelName: 'm', outputs: [output] });
    expect(bad({ name: 'y', datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2) })).toThrow(
      new TensorError("output 'y': expected 3 elements for shape [3], got 2", 'INTERNAL'),
    );
    expect(bad({ name: 'y', datatype: 'INT64', shape: [1], data: Int32Array.of(1) })).toThrow(
      "output 'y': data of type Int32Array does not hold datatype INT64",
    );
  });

  it('writes large numeric arrays exactly as JSON.stringify would', () => {
    const floats = new Float32Array(20_000);
    for (let i = 0; i < floats.length; i++) floats[i] = Math.fround(Math.sin(i) * 1000);
    const ints = Int32Array.from({ length: 20_000 }, (_, i) => i * 7919 - 400_000_000);
    const encoded = encodeInferResponse({
      modelName: 'm',
      outputs: [
        { name: 'f', datatype: 'FP32', shape: [floats.length], data: floats },
        { name: 'i', datatype: 'INT32', shape: [ints.length], data: ints },
      ],
    });
    const text = encoded.body.toString();
    expect(text).toContain(`"data":${JSON.stringify(Array.from(floats))}}`);
    expect(text).toContain(`"data":${JSON.stringify(Array.from(ints))}}`);
  });
});
