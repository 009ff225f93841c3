import {
  type Datatype,
  decodeInferResponse,
  encodeBinaryInferRequest,
  encodeJsonInferRequest,
  fromFloat16Bits,
  type TensorInput,
  toFloat16Bits,
} from '@maas/sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeInferRequest,
  encodeInferResponse,
  float16BitsToNumber,
  isBinaryOutput,
  numberToFloat16Bits,
  type Tensor,
} from './index.js';

// The SDK's codecs (@maas/sdk) against this lib's, what the inference worker runs, as the
// reference: what the SDK writes must decode here to the same values, and what the worker
// writes must decode in the SDK to the same values, in JSON and in the binary extension.

const encoder = new TextEncoder();

/** One input per datatype, as a caller would write it. */
function sampleInputs(): TensorInput[] {
  return [
    { name: 'f32', data: new Float32Array([1.5, -2.25, 3]), shape: [1, 3] },
    { name: 'f64', data: new Float64Array([Math.PI, -1e300]) },
    { name: 'i8', data: new Int8Array([-128, 127]) },
    { name: 'i16', data: new Int16Array([-32768, 32767]) },
    { name: 'i32', data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    { name: 'i64', data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n]) },
    { name: 'u8', data: new Uint8Array([0, 255]) },
    { name: 'u16', data: new Uint16Array([0, 65535]) },
    { name: 'u32', data: new Uint32Array([0, 2 ** 32 - 1]) },
    { name: 'u64', data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    { name: 'bool', data: [true, false, true] },
    { name: 'fp16', data: new Float32Array([0.5, -2, 65504]), datatype: 'FP16' },
    { name: 'text', data: ['hi', 'ünï', ''] },
  ];
}

const expectedDatatypes: Record<string, Datatype> = {
  f32: 'FP32',
  f64: 'FP64',
  i8: 'INT8',
  i16: 'INT16',
  i32: 'INT32',
  i64: 'INT64',
  u8: 'UINT8',
  u16: 'UINT16',
  u32: 'UINT32',
  u64: 'UINT64',
  bool: 'BOOL',
  fp16: 'FP16',
  text: 'BYTES',
};

/** A server-side tensor's values as plain JS values (FP16 bits as numbers, BYTES as text). */
function serverValues(tensor: Tensor): unknown[] {
  if (tensor.datatype === 'BYTES') {
    return (tensor.data as (string | Buffer)[]).map((v) =>
      typeof v === 'string' ? v : v.toString(),
    );
  }
  if (tensor.datatype === 'BOOL') return Array.from(tensor.data as Uint8Array, (v) => v !== 0);
  if (tensor.datatype === 'FP16') return Array.from(tensor.data as Uint16Array, fromFloat16Bits);
  return Array.from(tensor.data as ArrayLike<unknown>);
}

function callerValues(input: TensorInput): unknown[] {
  return Array.from(input.data as ArrayLike<unknown>);
}

describe('v2 request encoding, read by the platform decoder', () => {
  for (const mode of ['json', 'binary'] as const) {
    it(`keeps every datatype's values exact (${mode})`, () => {
      const inputs = sampleInputs();
      const request =
        mode === 'json'
          ? decodeInferRequest(encoder.encode(encodeJsonInferRequest(inputs, { id: 'r1' })))
          : (() => {
              const { body, headerLength } = encodeBinaryInferRequest(inputs, { id: 'r1' });
              return decodeInferRequest(body, { headerLength });
            })();
      expect(request.id).toBe('r1');
      expect(request.inputs.map((t) => t.name)).toEqual(inputs.map((i) => i.name));
      for (const [i, tensor] of request.inputs.entries()) {
        const input = inputs[i]!;
        expect(tensor.datatype, input.name).toBe(expectedDatatypes[input.name]);
        expect(tensor.shape).toEqual(input.shape ?? [input.data.length]);
        expect(serverValues(tensor), input.name).toEqual(callerValues(input));
      }
    });
  }

  it('asks for binary outputs and only the named ones', () => {
    const { body, headerLength } = encodeBinaryInferRequest(
      [{ name: 'x', data: new Float32Array([1]) }],
      { outputs: ['y'], binaryOutput: true },
    );
    const request = decodeInferRequest(body, { headerLength });
    expect(request.outputs?.map((o) => o.name)).toEqual(['y']);
    expect(isBinaryOutput(request.binaryOutputs, 'y')).toBe(true);
  });

  it('converts plain arrays to the datatype asked for', () => {
    const request = decodeInferRequest(
      encoder.encode(
        encodeJsonInferRequest([
          { name: 'a', data: [1, 2, 3, 4], shape: [2, 2], datatype: 'INT64' },
          { name: 'b', data: new Float64Array([0.5]), datatype: 'FP32' },
          { name: 'c', data: [7, 8] },
        ]),
      ),
    );
    expect(request.inputs.map((t) => [t.datatype, t.data.constructor.name])).toEqual([
      ['INT64', 'BigInt64Array'],
      ['FP32', 'Float32Array'],
      ['FP32', 'Float32Array'],
    ]);
  });

  it('refuses data its shape does not describe, and values its datatype cannot hold', () => {
    expect(() =>
      encodeJsonInferRequest([{ name: 'x', data: new Float32Array(3), shape: [2, 2] }]),
    ).toThrow(/shape \[2, 2\] holds 4 elements but data has 3/);
    expect(() => encodeJsonInferRequest([{ name: 'x', data: [1.5], datatype: 'INT64' }])).toThrow(
      /1.5 is not an integer/,
    );
    expect(() => encodeJsonInferRequest([{ name: 'x', data: [] }])).toThrow(/needs a datatype/);
  });

  it('round-trips any FP32, INT64 and BYTES data through both encodings (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (floats, ints, strings, binary) => {
          const inputs: TensorInput[] = [
            { name: 'f', data: new Float32Array(floats) },
            { name: 'i', data: BigInt64Array.from(ints) },
            { name: 's', data: strings },
          ];
          const request = binary
            ? (() => {
                const encoded = encodeBinaryInferRequest(inputs);
                return decodeInferRequest(encoded.body, { headerLength: encoded.headerLength });
              })()
            : decodeInferRequest(encoder.encode(encodeJsonInferRequest(inputs)));
          expect(serverValues(request.inputs[0]!)).toEqual(Array.from(new Float32Array(floats)));
          expect(serverValues(request.inputs[1]!)).toEqual(ints);
          expect(serverValues(request.inputs[2]!)).toEqual(strings);
        },
      ),
    );
  });
});

describe('v2 response decoding, of what the platform encoder writes', () => {
  const outputs: Tensor[] = [
    { name: 'p', datatype: 'FP32', shape: [2, 2], data: new Float32Array([0.25, 0.75, 1, 0]) },
    { name: 'd', datatype: 'FP64', shape: [1], data: new Float64Array([Math.E]) },
    { name: 'n', datatype: 'INT64', shape: [2], data: new BigInt64Array([-5n, 2n ** 40n]) },
    { name: 'k', datatype: 'INT32', shape: [1], data: new Int32Array([-7]) },
    { name: 'u', datatype: 'UINT8', shape: [2], data: new Uint8Array([3, 250]) },
    { name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    {
      name: 'h',
      datatype: 'FP16',
      shape: [2],
      data: new Uint16Array([toFloat16Bits(1.5), toFloat16Bits(-0.25)]),
    },
    { name: 'label', datatype: 'BYTES', shape: [2], data: ['setosa', 'virginica'] },
  ];

  for (const binaryOutputs of ['none', 'all'] as const) {
    it(`gives typed data back (${binaryOutputs === 'all' ? 'binary' : 'JSON'})`, () => {
      const encoded = encodeInferResponse(
        { modelName: 'm', modelVersion: '3', id: 'q', outputs },
        { binaryOutputs },
      );
      const decoded = decodeInferResponse(encoded.body, encoded.headerLength);
      expect(decoded).toMatchObject({ modelName: 'm', modelVersion: '3', id: 'q' });
      const byName = Object.fromEntries(decoded.outputs.map((o) => [o.name, o]));
      expect(byName.p!.data).toEqual(new Float32Array([0.25, 0.75, 1, 0]));
      expect(byName.p!.shape).toEqual([2, 2]);
      expect(byName.d!.data).toEqual(new Float64Array([Math.E]));
      expect(byName.n!.data).toEqual(new BigInt64Array([-5n, 2n ** 40n]));
      expect(byName.k!.data).toEqual(new Int32Array([-7]));
      expect(byName.u!.data).toEqual(new Uint8Array([3, 250]));
      expect(byName.b!.data).toEqual([true, false]);
      expect(byName.h!.data).toEqual(new Float32Array([1.5, -0.25]));
      expect(byName.label!.data).toEqual(['setosa', 'virginica']);
      // The binary extension's bookkeeping is not the caller's business.
      expect(byName.p!.parameters?.binary_data_size).toBeUndefined();
    });
  }
});

describe('64-bit integers in JSON answers', () => {
  it('come back exact past 2^53, however the platform writes them', () => {
    const values = new BigInt64Array([-(2n ** 63n), 9007199254740993n, 2n ** 63n - 1n]);
    const unsigned = new BigUint64Array([2n ** 64n - 1n, 1n]);
    const encoded = encodeInferResponse({
      modelName: 'm',
      outputs: [
        { name: 'i', datatype: 'INT64', shape: [3], data: values },
        { name: 'u', datatype: 'UINT64', shape: [2], data: unsigned },
        { name: 's', datatype: 'BYTES', shape: [1], data: ['12345678901234567890, "x"'] },
        { name: 'f', datatype: 'FP64', shape: [1], data: new Float64Array([1e300]) },
      ],
    });
    const decoded = decodeInferResponse(encoded.body);
    expect(decoded.outputs.map((o) => o.data)).toEqual([
      values,
      unsigned,
      ['12345678901234567890, "x"'],
      new Float64Array([1e300]),
    ]);
  });
});

describe('FP16 conversion', () => {
  it('agrees with the platform on every half, both ways', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      const platform = float16BitsToNumber(bits);
      if (Number.isNaN(value) && Number.isNaN(platform)) continue;
      if (!Object.is(value, platform) || toFloat16Bits(value) !== numberToFloat16Bits(value)) {
        mismatches.push(bits);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('rounds any float32 to the half the platform picks (property)', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (value) => {
        expect(toFloat16Bits(value)).toBe(numberToFloat16Bits(value));
      }),
      { numRuns: 2000 },
    );
  });
});
