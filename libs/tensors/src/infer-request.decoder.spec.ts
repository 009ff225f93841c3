import { describe, expect, it } from 'vitest';
import { encodeBinaryTensorData } from './binary-tensor.codec.js';
import { DATATYPES } from './datatype.js';
import { decodeInferRequest, isBinaryOutput } from './infer-request.decoder.js';
import { TensorError } from './tensor.error.js';
import { binaryRequestBody, largestAllocation, plain, sampleTensor } from './tensor.fixtures.js';

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function decodeInputs(inputs: unknown[]) {
  return decodeInferRequest(json({ inputs }));
}

function expectTensorError(run: () => unknown, message: string | RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TensorError);
  expect((caught as TensorError).code).toBe('INVALID_ARGUMENT');
  if (typeof message === 'string') expect((caught as TensorError).message).toBe(message);
  else expect((caught as TensorError).message).toMatch(message);
}

describe('decodeInferRequest (JSON)', () => {
  it('decodes flat data into typed arrays, with id, parameters and outputs', () => {
    const request = decodeInferRequest(
      json({
        id: 'req-1',
        parameters: { priority: 2 },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6.5] }],
        outputs: [{ name: 'y' }, { name: 'z', parameters: { binary_data: true } }],
      }),
    );
    expect(request.id).toBe('req-1');
    expect(request.parameters).toEqual({ priority: 2 });
    expect(request.outputs).toEqual([
      { name: 'y' },
      { name: 'z', parameters: { binary_data: true } },
    ]);
    expect(request.binaryOutputs).toEqual(new Set(['z']));
    const [x] = request.inputs;
    expect(x?.data).toBeInstanceOf(Float32Array);
    expect(x?.shape).toEqual([2, 3]);
    expect(Array.from(x?.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6.5]);
  });

  it('flattens nested data row-major', () => {
    const nested = decodeInputs([
      {
        name: 'x',
        datatype: 'INT32',
        shape: [2, 2],
        data: [
          [1, 2],
          [3, 4],
        ],
      },
    ]);
    const flat = decodeInputs([
      { name: 'x', datatype: 'INT32', shape: [2, 2], data: [1, 2, 3, 4] },
    ]);
    expect(nested.inputs[0]?.data).toEqual(Int32Array.of(1, 2, 3, 4));
    expect(nested.inputs[0]?.data).toEqual(flat.inputs[0]?.data);
    const deep = decodeInputs([
      { name: 'b', datatype: 'BOOL', shape: [2, 1, 2], data: [[[true, false]], [[false, true]]] },
    ]);
    expect(deep.inputs[0]?.data).toEqual(Uint8Array.of(1, 0, 0, 1));
  });

  it('decodes every datatype from JSON', () => {
    const inputs = DATATYPES.map((datatype) => {
      const tensor = sampleTensor(datatype);
      const values = plain(tensor.data).map((value) => (datatype === 'BOOL' ? value === 1 : value));
      const data =
        datatype === 'FP16'
          ? [1, -2, 0.5, 65504]
          : datatype === 'BF16'
            ? [1, -2, 0.5, 3.140625]
            : datatype === 'INT64' || datatype === 'UINT64'
              ? [0, 1, 2, 3] // values beyond 2^53 have their own test
              : values;
      return { name: tensor.name, datatype, shape: [2, 2], data };
    });
    const request = decodeInputs(inputs);
    for (const datatype of DATATYPES) {
      const decoded = request.inputs.find((input) => input.datatype === datatype);
      const expected =
        datatype === 'INT64'
          ? BigInt64Array.of(0n, 1n, 2n, 3n)
          : datatype === 'UINT64'
            ? BigUint64Array.of(0n, 1n, 2n, 3n)
            : sampleTensor(datatype).data;
      expect(decoded?.data, datatype).toEqual(expected);
    }
  });

  it('keeps INT64 and UINT64 values beyond 2^53 exact', () => {
    const body = Buffer.from(
      '{"inputs":[' +
        '{"name":"a","datatype":"INT64","shape":[4],"data":[-9223372036854775808,9223372036854775807,9007199254740993,-1]},' +
        '{"name":"b","datatype":"UINT64","shape":[2],"data":[18446744073709551615,9007199254740993]},' +
        '{"name":"c","datatype":"BYTES","shape":[1],"data":["\\"[12345678901234567890]\\" \\u00e9"]}]}',
    );
    const request = decodeInferRequest(body);
    expect(request.inputs[0]?.data).toEqual(
      BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -1n),
    );
    expect(request.inputs[1]?.data).toEqual(BigUint64Array.of(2n ** 64n - 1n, 2n ** 53n + 1n));
    expect(request.inputs[2]?.data).toEqual(['"[12345678901234567890]" é']);
  });

  it('writes safe INT64 values without rounding, including negatives', () => {
    const values = [
      0,
      -1,
      4294967296,
      -4294967297,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ];
    const request = decodeInputs([{ name: 'a', datatype: 'INT64', shape: [6], data: values }]);
    expect(request.inputs[0]?.data).toEqual(BigInt64Array.from(values, BigInt));
  });

  it('reads binary output requests: request-wide, per output, and overrides', () => {
    const input = { name: 'x', datatype: 'FP32', shape: [1], data: [1] };
    expect(decodeInferRequest(json({ inputs: [input] })).binaryOutputs).toBe('none');
    const all = decodeInferRequest(
      json({ inputs: [input], parameters: { binary_data_output: true } }),
    );
    expect(all.binaryOutputs).toBe('all');
    expect(isBinaryOutput(all.binaryOutputs, 'anything')).toBe(true);
    const some = decodeInferRequest(
      json({
        inputs: [input],
        parameters: { binary_data_output: true },
        outputs: [{ name: 'a' }, { name: 'b', parameters: { binary_data: false } }],
      }),
    );
    expect(some.binaryOutputs).toEqual(new Set(['a']));
    expect(isBinaryOutput(some.binaryOutputs, 'b')).toBe(false);
  });

  it('rejects malformed requests with messages that name the input', () => {
    expectTensorError(
      () => decodeInferRequest(Buffer.from('{"inputs": [')),
      /^request body is not valid JSON: /,
    );
    expectTensorError(
      () => decodeInferRequest(Buffer.from('[1]')),
      'request body must be a JSON object',
    );
    expectTensorError(
      () => decodeInferRequest(json({ inputs: [] })),
      "request 'inputs' must be a non-empty array",
    );
    expectTensorError(
      () => decodeInferRequest(json({})),
      "request 'inputs' must be a non-empty array",
    );
    expectTensorError(
      () => decodeInferRequest(json({ id: 5, inputs: [] })),
      "request 'id' must be a string",
    );
    expectTensorError(
      () => decodeInputs([{ datatype: 'FP32', shape: [1], data: [1] }]),
      "input 0: 'name' must be a non-empty string",
    );
    expectTensorError(
      () =>
        decodeInputs([{ name: 'x', datatype: 'FP32', shape: [3, 4], data: new Array(10).fill(0) }]),
      "input 'x': expected 12 elements for shape [3,4], got 10",
    );
    expectTensorError(
      () => decodeInputs([{ name: 'x', datatype: 'FLOAT', shape: [1], data: [1] }]),
      `input 'x': unknown datatype "FLOAT"`,
    );
    expectTensorError(
      () => decodeInputs([{ name: 'x', datatype: 'FP32', shape: [-1], data: [1] }]),
      "input 'x': 'shape' must be an array of non-negative integers",
    );
    expectTensorError(
      () => decodeInputs([{ name: 'x', datatype: 'FP32', shape: [1.5], data: [1] }]),
      "input 'x': 'shape' must be an array of non-negative integers",
    );
    expectTensorError(
      () => decodeInputs([{ name: 'x', datatype: 'FP32', shape: [1] }]),
      "input 'x': 'data' must be an array",
    );
    expectTensorError(
      () =>
        decodeInputs([
          { name: 'x', datatype: 'FP32', shape: [1], data: [1] },
          { name: 'x', datatype: 'FP32', shape: [1], data: [2] },
        ]),
      "input 'x': given more than once",
    );
    expectTensorError(
      () => decodeInputs([{ name: 'x', datatype: 'FP32', shape: [1], data: [1], parameters: 3 }]),
      "input 'x': 'parameters' must be an object",
    );
    expectTensorError(
      () =>
        decodeInferRequest(
          json({
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }],
            outputs: [{ name: 'y' }, { name: 'y' }],
          }),
        ),
      "output 'y': requested more than once",
    );
  });

  it('rejects elements of the wrong type or range, naming the input and element', () => {
    const cases: [string, unknown[], string][] = [
      ['UINT8', [256], "input 'x': element 0 must be an integer in [0, 255], got 256"],
      ['INT8', [1, -129], "input 'x': element 1 must be an integer in [-128, 127], got -129"],
      [
        'INT32',
        [1.5],
        "input 'x': element 0 must be an integer in [-2147483648, 2147483647], got 1.5",
      ],
      ['UINT32', [-1], "input 'x': element 0 must be an integer in [0, 4294967295], got -1"],
      [
        'UINT64',
        [-1],
        "input 'x': element 0 must be an integer in [0, 18446744073709551615], got -1",
      ],
      [
        'INT64',
        ['5'],
        `input 'x': element 0 must be an integer in [-9223372036854775808, 9223372036854775807], got "5"`,
      ],
      ['FP32', [null], "input 'x': element 0 must be a number, got null"],
      ['FP64', ['1.0'], `input 'x': element 0 must be a number, got "1.0"`],
      ['BOOL', [1], "input 'x': element 0 must be true or false, got 1"],
      ['BYTES', [42], "input 'x': element 0 must be a string, got 42"],
      ['FP16', [true], "input 'x': element 0 must be a number, got true"],
    ];
    for (const [datatype, data, message] of cases) {
      expectTensorError(
        () => decodeInputs([{ name: 'x', datatype, shape: [data.length], data }]),
        message,
      );
    }
    const tooBig = Buffer.from(
      '{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[9223372036854775808]}]}',
    );
    expectTensorError(
      () => decodeInferRequest(tooBig),
      /^input 'x': element 0 must be an integer in/,
    );
  });
});

describe('decodeInferRequest (binary data extension)', () => {
  it('decodes every datatype from binary data', () => {
    const tensors = DATATYPES.map((datatype) => sampleTensor(datatype));
    const chunks = tensors.map((tensor) => encodeBinaryTensorData(tensor));
    const header = {
      inputs: tensors.map((tensor, i) => ({
        name: tensor.name,
        datatype: tensor.datatype,
        shape: tensor.shape,
        parameters: { binary_data_size: chunks[i]?.length },
      })),
    };
    const { body, headerLength } = binaryRequestBody(header, chunks);
    const request = decodeInferRequest(body, { headerLength });
    request.inputs.forEach((input, i) => {
      const tensor = tensors[i];
      expect(input.datatype).toBe(tensor?.datatype);
      expect(input.parameters).toBeUndefined();
      if (tensor?.datatype === 'BYTES') expect(plain(input.data)).toEqual(tensor.data);
      else expect(input.data, tensor?.datatype).toEqual(tensor?.data);
    });
  });

  it('mixes JSON and binary inputs and copies unaligned tensors into aligned arrays', () => {
    const bytes = Buffer.from(Float32Array.of(1.5, -2.25).buffer);
    const header = {
      inputs: [
        { name: 'flag', datatype: 'BOOL', shape: [1], parameters: { binary_data_size: 1 } },
        { name: 'json', datatype: 'INT32', shape: [1], data: [7] },
        { name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
      ],
    };
    const { body, headerLength } = binaryRequestBody(header, [Buffer.of(1), bytes]);
    const request = decodeInferRequest(body, { headerLength });
    const x = request.inputs[2]?.data as Float32Array;
    expect(x).toBeInstanceOf(Float32Array);
    expect(x.byteOffset % 4).toBe(0);
    expect(Array.from(x)).toEqual([1.5, -2.25]);
    expect(request.inputs[0]?.data).toEqual(Uint8Array.of(1));
    expect(request.inputs[1]?.data).toEqual(Int32Array.of(7));
  });

  it('encodes BYTES elements with 4-byte little-endian length prefixes', () => {
    const encoded = encodeBinaryTensorData({
      name: 's',
      datatype: 'BYTES',
      shape: [2],
      data: ['ab', ''],
    });
    expect([...encoded]).toEqual([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
    const raw = Buffer.concat([Buffer.of(3, 0, 0, 0, 0xff, 0x00, 0xfe)]);
    const { body, headerLength } = binaryRequestBody(
      {
        inputs: [
          {
            name: 's',
            datatype: 'BYTES',
            shape: [1],
            parameters: { binary_data_size: raw.length },
          },
        ],
      },
      [raw],
    );
    const data = decodeInferRequest(body, { headerLength }).inputs[0]?.data as Buffer[];
    expect(Buffer.isBuffer(data[0])).toBe(true);
    expect([...(data[0] as Buffer)]).toEqual([0xff, 0x00, 0xfe]); // raw bytes survive, not UTF-8 mangled
  });

  it('rejects size mismatches and naming errors', () => {
    const input = (size: number, extra: object = {}) => ({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [2],
          parameters: { binary_data_size: size },
          ...extra,
        },
      ],
    });
    const eight = Buffer.alloc(8);
    let built = binaryRequestBody(input(8), [eight, Buffer.alloc(1)]);
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.headerLength }),
      "binary data sizes of 'x' add up to 8 bytes but the body carries 9 bytes after the JSON header",
    );
    built = binaryRequestBody(input(4), [Buffer.alloc(4)]);
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.headerLength }),
      "input 'x': binary_data_size is 4 bytes but shape [2] of FP32 needs 8",
    );
    built = binaryRequestBody(input(8, { data: [1, 2] }), [eight]);
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.headerLength }),
      "input 'x': has both 'data' and binary_data_size",
    );
    expectTensorError(
      () => decodeInferRequest(json(input(8))),
      "input 'x': has binary_data_size but the request has no binary part (Inference-Header-Content-Length is missing)",
    );
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.body.length + 1 }),
      /^Inference-Header-Content-Length \d+ must be an integer between 0 and the body length/,
    );
    const bytesInput = (size: number) => ({
      inputs: [
        { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: size } },
      ],
    });
    const oneElement = Buffer.of(1, 0, 0, 0, 0x61, 0, 0, 0);
    built = binaryRequestBody(bytesInput(oneElement.length), [oneElement]);
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.headerLength }),
      "input 's': BYTES binary data ends after 1 of 2 elements for shape [2]",
    );
    const overlong = Buffer.of(9, 0, 0, 0, 0x61, 0, 0, 0);
    built = binaryRequestBody(bytesInput(overlong.length), [overlong]);
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.headerLength }),
      "input 's': BYTES element 0 declares 9 bytes but only 4 remain",
    );
    const leftover = Buffer.of(0, 0, 0, 0, 0, 0, 0, 0, 0x61);
    built = binaryRequestBody(bytesInput(leftover.length), [leftover]);
    expectTensorError(
      () => decodeInferRequest(built.body, { headerLength: built.headerLength }),
      "input 's': BYTES binary data has 1 bytes left over after 2 elements for shape [2]",
    );
  });
});

describe('decodeInferRequest (cost bounded before allocating)', () => {
  const bomb = (data: unknown, datatype = 'FP32') =>
    json({ inputs: [{ name: 'x', datatype, shape: [30_000_000], data }] });

  it('refuses a shape the JSON cannot carry before allocating for it', () => {
    for (const body of [bomb([[1]]), bomb([1]), bomb(['a'], 'BYTES'), bomb([[1]], 'INT64')]) {
      const { largest, error } = largestAllocation(() => decodeInferRequest(body));
      expect(error).toBeInstanceOf(TensorError);
      expect((error as TensorError).message).toBe(
        `input 'x': shape [30000000] holds 30000000 elements but ${body.length} bytes of JSON can carry at most ${Math.floor(body.length / 2)}`,
      );
      expect(largest).toBeLessThan(1000);
    }
    // Exactly as many elements as the bytes allow still decode.
    const dense = json({ inputs: [{ name: 'x', datatype: 'UINT8', shape: [3], data: [1, 2, 3] }] });
    expect(plain(decodeInferRequest(dense).inputs[0]!.data)).toEqual([1, 2, 3]);
  });

  it('refuses binary shapes the bytes cannot carry before allocating for them', () => {
    // Each input claims 30,000,000 elements; the body carries 4 bytes of binary data.
    const cases = [
      {
        name: 'x',
        datatype: 'FP32',
        binaryDataSize: 120_000_000,
        message:
          "binary data sizes of 'x' add up to 120000000 bytes but the body carries 4 bytes after the JSON header",
      },
      {
        name: 's',
        datatype: 'BYTES',
        binaryDataSize: 4,
        message:
          "input 's': shape [30000000] holds 30000000 BYTES elements but 4 bytes of binary data carry at most 1",
      },
    ];
    for (const { name, datatype, binaryDataSize, message } of cases) {
      const { body, headerLength } = binaryRequestBody(
        {
          inputs: [
            {
              name,
              datatype,
              shape: [30_000_000],
              parameters: { binary_data_size: binaryDataSize },
            },
          ],
        },
        [Buffer.alloc(4)],
      );
      const { largest, error } = largestAllocation(() =>
        decodeInferRequest(body, { headerLength }),
      );
      expect((error as TensorError).message, datatype).toBe(message);
      expect(largest, datatype).toBeLessThan(1000);
    }
  });

  it('caps the elements of a request, JSON and binary inputs together, from their shapes', () => {
    const inputs = [
      { name: 'a', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { name: 'b', datatype: 'INT32', shape: [5], data: [1, 2, 3, 4, 5] },
    ];
    expect(decodeInferRequest(json({ inputs }), { maxElements: 11 }).inputs).toHaveLength(2);
    expectTensorError(
      () => decodeInferRequest(json({ inputs }), { maxElements: 10 }),
      "input 'b': the request's inputs hold 11 elements by their shapes, more than the 10 a request may carry",
    );
    const binary = binaryRequestBody(
      {
        inputs: [
          inputs[0],
          { name: 'b', datatype: 'INT32', shape: [5], parameters: { binary_data_size: 20 } },
        ],
      },
      [Buffer.alloc(20)],
    );
    expect(
      decodeInferRequest(binary.body, { headerLength: binary.headerLength, maxElements: 11 })
        .inputs,
    ).toHaveLength(2);
    expectTensorError(
      () => decodeInferRequest(binary.body, { headerLength: binary.headerLength, maxElements: 10 }),
      /^input 'b': the request's inputs hold 11 elements/,
    );
  });

  it("checks each input's name, datatype and shape against the signature before its data", () => {
    const signature = [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }];
    const one = (input: object) => json({ inputs: [{ name: 'x', datatype: 'FP32', ...input }] });
    expect(
      plain(
        decodeInferRequest(one({ shape: [1, 2], data: [1, 2] }), { signature }).inputs[0]!.data,
      ),
    ).toEqual([1, 2]);
    // Data that would be refused for its count is never read: the signature speaks first.
    expectTensorError(
      () => decodeInferRequest(one({ shape: [1, 3], data: [1] }), { signature }),
      "input 'x': expected shape [-1,2], got [1,3] (dimension 1 must be 2)",
    );
    expectTensorError(
      () => decodeInferRequest(one({ shape: [2], data: [1, 2] }), { signature }),
      "input 'x': expected shape [-1,2] (rank 2), got [2] (rank 1)",
    );
    expectTensorError(
      () =>
        decodeInferRequest(one({ datatype: 'INT8', shape: [1, 2], data: [1, 2] }), { signature }),
      "input 'x': expected datatype FP32, got INT8",
    );
    const unknown = json({
      inputs: [{ name: 'y', datatype: 'FP32', shape: [15_000_000, 2], data: [[1]] }],
    });
    const { largest, error } = largestAllocation(() => decodeInferRequest(unknown, { signature }));
    expect((error as TensorError).message).toBe(
      "input 'y': the model has no such input (its inputs: 'x')",
    );
    expect(largest).toBeLessThan(1000);
  });
});
