import { describe, expect, it } from 'vitest';
import { decodePredictRequest, encodePredictResponse } from './predict.codec.js';
import type { Tensor, TensorSpec } from './tensor.js';
import { TensorError } from './tensor.error.js';
import { largestAllocation } from './tensor.fixtures.js';

const single: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }];
const multi: TensorSpec[] = [
  { name: 'x', datatype: 'FP32', shape: [-1, 2] },
  { name: 'ids', datatype: 'INT64', shape: [-1] },
  { name: 'text', datatype: 'BYTES', shape: [-1] },
];

function parsed(body: Buffer): unknown {
  return JSON.parse(body.toString());
}

describe('decodePredictRequest', () => {
  it('reads the row format with one input (bare instances)', () => {
    const request = decodePredictRequest(
      Buffer.from('{"instances": [[1, 2], [3, 4], [5, 6]]}'),
      single,
    );
    expect(request.format).toBe('row');
    expect(request.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
    ]);
  });

  it('reads the row format with several inputs, b64 BYTES and exact INT64', () => {
    const body =
      '{"signature_name":"serving_default","instances":[' +
      '{"x":[1,2],"ids":9007199254740993,"text":{"b64":"/wA="}},' +
      '{"x":[3,4],"ids":-5,"text":"hi"}]}';
    const request = decodePredictRequest(body, multi);
    expect(request.signatureName).toBe('serving_default');
    const [x, ids, text] = request.inputs;
    expect(x).toEqual({
      name: 'x',
      datatype: 'FP32',
      shape: [2, 2],
      data: Float32Array.of(1, 2, 3, 4),
    });
    expect(ids?.data).toEqual(BigInt64Array.of(2n ** 53n + 1n, -5n));
    expect(text?.data).toEqual([Buffer.of(0xff, 0x00), Buffer.from('hi')]);
  });

  it('reads the columnar format, bare and keyed by name', () => {
    const bare = decodePredictRequest({ inputs: [[1, 2]] }, single);
    expect(bare.format).toBe('columnar');
    expect(bare.inputs[0]?.shape).toEqual([1, 2]);
    const keyed = decodePredictRequest(
      { inputs: { x: [[1, 2]], ids: [1, 2, 3], text: ['a'] } },
      multi,
    );
    expect(keyed.inputs.map((input) => input.shape)).toEqual([[1, 2], [3], [1]]);
    expect(keyed.inputs[2]?.data).toEqual(['a']);
  });

  it('rejects malformed requests, naming the input', () => {
    const message = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(TensorError);
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(
      message(() => decodePredictRequest({ instances: [[1, 2]], inputs: [[1, 2]] }, single)),
    ).toBe(
      "request must have exactly one of 'instances' (row format) or 'inputs' (columnar format)",
    );
    expect(message(() => decodePredictRequest({}, single))).toMatch(/exactly one of 'instances'/);
    expect(message(() => decodePredictRequest('{"instances": [', single))).toMatch(
      /^request body is not valid JSON/,
    );
    expect(message(() => decodePredictRequest({ instances: [[1, 2], [3]] }, single))).toBe(
      "input 'x' (instance 1): ragged or irregular nesting (expected shape [2])",
    );
    expect(message(() => decodePredictRequest({ instances: [[1, 2, 3]] }, single))).toBe(
      "input 'x': expected shape [-1,2], got [1,3] (dimension 1 must be 2)",
    );
    expect(message(() => decodePredictRequest({ inputs: { y: [1] } }, single))).toBe(
      "input 'y': the model has no such input (its inputs: 'x')",
    );
    expect(message(() => decodePredictRequest({ inputs: [['a', 'b']] }, single))).toBe(
      `input 'x': element 0 must be a number, got "a"`,
    );
    expect(
      message(() => decodePredictRequest({ instances: [{ x: [1, 2] }, { y: 1 }] }, multi)),
    ).toBe("input 'x': missing from instance 1");
  });
});

describe('decodePredictRequest (cost bounded before allocating)', () => {
  const wide: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 1000] }];
  const row = `[${Array.from({ length: 1000 }, (_, i) => i % 10).join(',')}]`;

  it('checks every instance before stacking rows read from the text', () => {
    // Instance 0 is a 1000-value row, the other 5000 a bare number: stacking from instance 0's
    // size would allocate 5 million floats for a ~40 KB body.
    const body = Buffer.from(`{"instances":[{"x":${row}}${',{"x":1}'.repeat(5000)}]}`);
    const { largest, error } = largestAllocation(() => decodePredictRequest(body, wide));
    expect(error).toBeInstanceOf(TensorError);
    expect((error as TensorError).code).toBe('INVALID_ARGUMENT');
    expect(largest).toBeLessThan(body.length);
    // Well-formed rows still stack.
    const two = Buffer.from(`{"instances":[{"x":${row}},{"x":${row}}]}`);
    expect(decodePredictRequest(two, wide).inputs[0]?.shape).toEqual([2, 1000]);
  });

  it('caps the elements of instances and inputs, read from the text or parsed', () => {
    const ids: TensorSpec[] = [{ name: 'ids', datatype: 'INT64', shape: [-1, 2] }];
    const cases: [string, TensorSpec[]][] = [
      ['{"instances":[[1,2],[3,4]]}', single],
      ['{"instances":[{"x":[1,2]},{"x":[3,4]}]}', single],
      ['{"inputs":[[1,2],[3,4]]}', single],
      ['{"inputs":{"x":[[1,2],[3,4]]}}', single],
      ['{"instances":[[1,2],[3,4]]}', ids],
      ['{"inputs":{"ids":[[1,2],[3,4]]}}', ids],
    ];
    for (const [body, signature] of cases) {
      const name = signature[0]!.name;
      expect(
        decodePredictRequest(Buffer.from(body), signature, { maxElements: 4 }).inputs,
      ).toHaveLength(1);
      expect(() => decodePredictRequest(Buffer.from(body), signature, { maxElements: 3 })).toThrow(
        `input '${name}': the request's inputs hold 4 elements, more than the 3 a request may carry`,
      );
    }
    const both = { inputs: { x: [[1, 2]], ids: [3, 4, 5], text: ['a'] } };
    expect(() => decodePredictRequest(both, multi, { maxElements: 5 })).toThrow(
      /the request's inputs hold 6 elements, more than the 5/,
    );
  });

  it('checks the shape against the signature before gathering values', () => {
    const body = Buffer.from(`{"inputs":[${'[1,2,3],'.repeat(999)}[1,2,3]]}`);
    const { largest, error } = largestAllocation(() => decodePredictRequest(body, single));
    expect((error as TensorError).message).toBe(
      "input 'x': expected shape [-1,2], got [1000,3] (dimension 1 must be 2)",
    );
    expect(largest).toBeLessThan(body.length);
  });
});

describe('encodePredictResponse', () => {
  const probabilities: Tensor = {
    name: 'probabilities',
    datatype: 'FP32',
    shape: [2, 2],
    data: Float32Array.of(0.25, 0.75, 0.5, 0.5),
  };
  const label: Tensor = {
    name: 'label',
    datatype: 'INT64',
    shape: [2],
    data: BigInt64Array.of(1n, 2n ** 62n),
  };

  it('writes row-format predictions, bare for one output and keyed for several', () => {
    expect(parsed(encodePredictResponse([probabilities], 'row').body)).toEqual({
      predictions: [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    });
    const text = encodePredictResponse([probabilities, label], 'row').body.toString();
    expect(text).toBe(
      '{"predictions":[{"probabilities":[0.25,0.75],"label":1},{"probabilities":[0.5,0.5],"label":4611686018427387904}]}',
    );
  });

  it('writes columnar outputs and b64 for *_bytes outputs', () => {
    expect(parsed(encodePredictResponse([probabilities], 'columnar').body)).toEqual({
      outputs: [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    });
    const image: Tensor = {
      name: 'image_bytes',
      datatype: 'BYTES',
      shape: [1],
      data: [Buffer.of(0xff, 0)],
    };
    const name: Tensor = { name: 'name', datatype: 'BYTES', shape: [], data: ['cat'] };
    expect(parsed(encodePredictResponse([image, name], 'columnar').body)).toEqual({
      outputs: { image_bytes: [{ b64: '/wA=' }], name: 'cat' },
    });
  });

  it('rejects row format for outputs without a shared batch dimension', () => {
    const other: Tensor = {
      name: 'other',
      datatype: 'FP32',
      shape: [3],
      data: new Float32Array(3),
    };
    expect(() => encodePredictResponse([probabilities, other], 'row')).toThrow(
      "output 'other': batch size 3 differs from output 'probabilities' (2); use the columnar format ('inputs')",
    );
  });
});
