import { describe, expect, it } from 'vitest';
import { convertFp16, float16Bits } from './convert-fp16.js';
import { buildModel, node, valueInfo } from './onnx-builders.js';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { TensorDataType } from './onnx-model.types.js';
import { maxAbsDifference, runRows, useSessions } from './model-optimization.fixtures.js';
import { quantizeInt8 } from './quantize-int8.js';
import { buildMlpModel, randomMlp, seededRandom } from './ready-made-models.js';

const createSession = useSessions();
const mlp = buildMlpModel({ layers: randomMlp([784, 256, 256, 10], 5) });

describe('float16Bits', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1e6, 0x7c00],
    [2 ** -24, 0x0001],
    [0, 0],
  ])('encodes %d as %i', (value, bits) => expect(float16Bits(value)).toBe(bits));
});

describe('convertFp16', () => {
  it('halves the weights and runs on the CPU provider with a float32 signature', async () => {
    const { bytes, report } = convertFp16(mlp);
    expect(bytes.byteLength).toBeLessThan(0.55 * mlp.byteLength);
    expect(report).toMatchObject({ transform: 'convert-fp16', nodesRewritten: 2 });
    expect(report.weightsChanged).toHaveLength(6);
    const { graph } = decodeModel(bytes);
    expect(graph.input[0].type?.tensorType?.elemType).toBe(TensorDataType.FLOAT);
    expect(graph.output[0].type?.tensorType?.elemType).toBe(TensorDataType.FLOAT);

    const rows = Float32Array.from({ length: 32 * 784 }, seededRandom(6));
    const expected = await runRows(await createSession(mlp), rows, 784);
    const actual = await runRows(await createSession(bytes), rows, 784);
    expect(maxAbsDifference(expected, actual)).toBeLessThan(1e-2);
  });

  it('refuses, naming it, an operator the CPU provider is not known to run in float16', () => {
    const model = encodeModel(
      buildModel({
        graph: {
          nodes: [node('Sigmoid', ['input'], ['output'])],
          inputs: [valueInfo('input', TensorDataType.FLOAT, [2])],
          outputs: [valueInfo('output', TensorDataType.FLOAT, [2])],
        },
      }),
    );
    expect(() => convertFp16(model)).toThrow(/not known to run Sigmoid in float16/);
  });

  it('refuses a quantised model', () => {
    expect(() => convertFp16(quantizeInt8(mlp).bytes)).toThrow(/quantised model/);
  });
});
