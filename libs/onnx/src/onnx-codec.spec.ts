import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  attribute,
  buildModel,
  node,
  readTensorValues,
  tensorProto,
  valueInfo,
} from './onnx-builders.js';
import { OnnxDecodeError, decodeModel, encodeModel } from './onnx-codec.js';
import { AttributeType, TensorDataType } from './onnx-model.types.js';

const bigOffset = 2n ** 40n + 3n;

/** sum = a + b + offset, all INT64; the offset initializer lives in int64_data. */
function int64AddModel() {
  return buildModel({
    graph: {
      name: 'int64_add',
      nodes: [node('Add', ['a', 'b'], ['partial']), node('Add', ['partial', 'offset'], ['sum'])],
      initializers: [
        { name: 'offset', dataType: TensorDataType.INT64, dims: [1], int64Data: [bigOffset] },
      ],
      inputs: [
        valueInfo('a', TensorDataType.INT64, ['batch', 2]),
        valueInfo('b', TensorDataType.INT64, ['batch', 2]),
      ],
      outputs: [valueInfo('sum', TensorDataType.INT64, ['batch', 2])],
    },
    opsets: { '': 17 },
    producerName: 'codec-spec',
  });
}

describe('encodeModel / decodeModel', () => {
  it('round-trips a model, including int64 payloads beyond 2^53', () => {
    const model = int64AddModel();
    const decoded = decodeModel(encodeModel(model));

    expect(decoded).toEqual(model);
    expect(decoded.graph.initializer[0].int64Data).toEqual([bigOffset]);
  });

  it('round-trips every attribute kind and tensor encoding', () => {
    const labels = tensorProto('labels', TensorDataType.STRING, [3], ['cat', 'dog', 'émeu']);
    const flags = tensorProto('flags', TensorDataType.BOOL, [2], [true, false]);
    const bigs = tensorProto('bigs', TensorDataType.INT64, [2], [-5n, 2n ** 62n]);
    const model = buildModel({
      graph: {
        nodes: [
          node(
            'Custom',
            ['x'],
            ['y'],
            {
              alpha: attribute.float(0.25),
              count: attribute.int(3),
              mode: attribute.string('BRANCH_LEQ'),
              values: attribute.floats([0.5, 1.5]),
              ids: attribute.ints([0, 1, 2]),
              classes: attribute.strings(['a', 'b']),
              table: attribute.tensor(labels),
            },
            'ai.example',
          ),
        ],
        initializers: [flags, bigs],
        inputs: [valueInfo('x', TensorDataType.FLOAT, ['n', 3])],
        outputs: [valueInfo('y', TensorDataType.FLOAT, [])],
      },
      opsets: { '': 17, 'ai.example': 1 },
    });

    const decoded = decodeModel(encodeModel(model));

    expect(decoded).toEqual(model);
    const [custom] = decoded.graph.node;
    expect(custom.attribute.map((item) => [item.name, item.type])).toEqual([
      ['alpha', AttributeType.FLOAT],
      ['count', AttributeType.INT],
      ['mode', AttributeType.STRING],
      ['values', AttributeType.FLOATS],
      ['ids', AttributeType.INTS],
      ['classes', AttributeType.STRINGS],
      ['table', AttributeType.TENSOR],
    ]);
    expect(readTensorValues(custom.attribute[6].t!)).toEqual(['cat', 'dog', 'émeu']);
    expect(readTensorValues(decoded.graph.initializer[0])).toEqual([true, false]);
    expect(readTensorValues(decoded.graph.initializer[1])).toEqual([-5n, 2n ** 62n]);
    expect(decoded.opsetImport).toEqual([
      { domain: '', version: 17 },
      { domain: 'ai.example', version: 1 },
    ]);
  });

  it('round-trips model-local functions and training info (ModelProto fields 25 and 20)', () => {
    const base = int64AddModel();
    const model = {
      ...base,
      trainingInfo: [
        {
          algorithm: {
            name: 'step',
            node: [node('Identity', ['offset'], ['next'])],
            initializer: [tensorProto('lr', TensorDataType.FLOAT, [1], [0.5])],
            input: [],
            output: [valueInfo('next', TensorDataType.INT64, [1])],
          },
          updateBinding: [{ key: 'offset', value: 'next' }],
        },
      ],
      functions: [
        {
          name: 'Twice',
          domain: 'local.fn',
          input: ['x'],
          output: ['y'],
          node: [node('Add', ['x', 'x'], ['y'])],
          attributeProto: [{ name: 'scale', ...attribute.float(2) }],
          opsetImport: [{ domain: '', version: 17 }],
        },
      ],
    };

    const decoded = decodeModel(encodeModel(model));

    expect(decoded).toEqual(model);
    expect(readTensorValues(decoded.trainingInfo![0].algorithm!.initializer[0])).toEqual([0.5]);
  });

  it('rejects bytes that are not a model with OnnxDecodeError', () => {
    expect(() => decodeModel(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(
      OnnxDecodeError,
    );
  });
});

describe('INT64 models in onnxruntime', () => {
  it('adds int64 inputs exactly, beyond the int32 range', async () => {
    const session = await ort.InferenceSession.create(Buffer.from(encodeModel(int64AddModel())));
    try {
      const a = BigInt64Array.from([1n, -7n, 2n ** 50n, 0n]);
      const b = BigInt64Array.from([2n, 3n, 5n, -(2n ** 40n)]);
      const result = await session.run({
        a: new ort.Tensor('int64', a, [2, 2]),
        b: new ort.Tensor('int64', b, [2, 2]),
      });

      expect(result.sum.type).toBe('int64');
      expect(Array.from(result.sum.data as BigInt64Array)).toEqual([
        3n + bigOffset,
        -4n + bigOffset,
        2n ** 50n + 5n + bigOffset,
        3n,
      ]);
    } finally {
      await session.release();
    }
  });
});

describe('tensorProto', () => {
  it('refuses values that do not fill the shape', () => {
    expect(() => tensorProto('w', TensorDataType.FLOAT, [2, 2], [1, 2, 3])).toThrow(RangeError);
  });

  it('stores floats as little-endian raw_data', () => {
    const tensor = tensorProto('w', TensorDataType.FLOAT, [2], [1, -2.5]);
    expect(Array.from(tensor.rawData!)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]);
    expect(readTensorValues(tensor)).toEqual([1, -2.5]);
  });
});
