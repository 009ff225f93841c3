import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attribute, buildModel, node, tensorProto, valueInfo } from './onnx-builders.js';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { TensorDataType } from './onnx-model.types.js';
import { ModelOptimizationError } from './model-optimization.js';
import { maxAbsDifference, runRows, useSessions } from './model-optimization.fixtures.js';
import { quantizeInt8 } from './quantize-int8.js';
import { buildMlpModel, randomMlp, seededRandom } from './ready-made-models.js';

const createSession = useSessions();
const mlp = buildMlpModel({ layers: randomMlp([784, 256, 256, 10], 3) });

function randomRows(count: number, width: number, seed: number): Float32Array {
  return Float32Array.from({ length: count * width }, seededRandom(seed));
}

/** One Gemm `output = alpha·input·Bᵀ + beta·C` with B stored [out, in] (transB = 1). */
function transposedGemm(alpha: number, beta: number): Uint8Array {
  const random = seededRandom(11);
  return encodeModel(
    buildModel({
      graph: {
        nodes: [
          node('Gemm', ['input', 'B', 'C'], ['output'], {
            alpha: attribute.float(alpha),
            beta: attribute.float(beta),
            transB: attribute.int(1),
          }),
        ],
        initializers: [
          tensorProto('B', TensorDataType.FLOAT, [6, 8], Array.from({ length: 48 }, random)),
          tensorProto('C', TensorDataType.FLOAT, [6], [0.5, -0.5, 1, -1, 0.25, 0]),
        ],
        inputs: [valueInfo('input', TensorDataType.FLOAT, ['batch', 8])],
        outputs: [valueInfo('output', TensorDataType.FLOAT, ['batch', 6])],
      },
    }),
  );
}

/**
 * A small CNN on [batch, 1, 8, 8]: Conv 1→4 (3×3, pad 1, bias), Relu, a depthwise Conv (group
 * 4, 3×3, stride 2, no bias), Relu, Conv 4→2 (1×1, bias).
 */
function smallCnn(): Uint8Array {
  const random = seededRandom(21);
  const values = (count: number) => Array.from({ length: count }, () => random() * 2 - 1);
  return encodeModel(
    buildModel({
      graph: {
        nodes: [
          node('Conv', ['input', 'w1', 'b1'], ['c1'], {
            kernel_shape: attribute.ints([3, 3]),
            pads: attribute.ints([1, 1, 1, 1]),
          }),
          node('Relu', ['c1'], ['r1']),
          node('Conv', ['r1', 'w2'], ['c2'], {
            kernel_shape: attribute.ints([3, 3]),
            strides: attribute.ints([2, 2]),
            pads: attribute.ints([1, 1, 1, 1]),
            group: attribute.int(4),
          }),
          node('Relu', ['c2'], ['r2']),
          node('Conv', ['r2', 'w3', 'b3'], ['output'], { kernel_shape: attribute.ints([1, 1]) }),
        ],
        initializers: [
          tensorProto('w1', TensorDataType.FLOAT, [4, 1, 3, 3], values(36)),
          tensorProto('b1', TensorDataType.FLOAT, [4], values(4)),
          tensorProto('w2', TensorDataType.FLOAT, [4, 1, 3, 3], values(36)),
          tensorProto('w3', TensorDataType.FLOAT, [2, 4, 1, 1], values(8)),
          tensorProto('b3', TensorDataType.FLOAT, [2], values(2)),
        ],
        inputs: [valueInfo('input', TensorDataType.FLOAT, ['batch', 1, 8, 8])],
        outputs: [valueInfo('output', TensorDataType.FLOAT, ['batch', 2, 4, 4])],
      },
    }),
  );
}

describe('quantizeInt8', () => {
  it('gives a model about 4× smaller that runs and tracks the float model', async () => {
    const { bytes, report } = quantizeInt8(mlp);
    expect(bytes.byteLength).toBeLessThan(0.3 * mlp.byteLength);
    expect(report).toMatchObject({
      transform: 'quantize-int8',
      form: 'dynamic',
      nodesRewritten: 3,
      weightsChanged: ['layer0_weights', 'layer1_weights', 'layer2_weights'],
      bytesBefore: mlp.byteLength,
      bytesAfter: bytes.byteLength,
    });
    const opTypes = decodeModel(bytes).graph.node.map((current) => current.opType);
    expect(opTypes.filter((opType) => opType === 'MatMulInteger')).toHaveLength(3);
    expect(opTypes).not.toContain('Gemm');

    const rows = randomRows(64, 784, 5);
    const expected = await runRows(await createSession(mlp), rows, 784);
    const actual = await runRows(await createSession(bytes), rows, 784);
    expect(actual).toHaveLength(expected.length);
    expect(maxAbsDifference(expected, actual)).toBeLessThan(0.1);
  });

  it.each([
    ['dynamic', 1, 1],
    ['dynamic', 0.5, 2],
    ['qdq', 0.5, 2],
  ] as const)(
    'keeps Gemm semantics (%s form, alpha %d, beta %d, transB)',
    async (form, alpha, beta) => {
      const source = transposedGemm(alpha, beta);
      const { bytes } = quantizeInt8(source, { form });
      const rows = randomRows(4, 8, 9);
      const expected = await runRows(await createSession(source), rows, 8);
      const actual = await runRows(await createSession(bytes), rows, 8);
      expect(maxAbsDifference(expected, actual)).toBeLessThan(0.05);
    },
  );

  it('writes 8-bit weights behind DequantizeLinear in the qdq form', () => {
    const { bytes, report } = quantizeInt8(mlp, { form: 'qdq' });
    const graph = decodeModel(bytes).graph;
    expect(report.form).toBe('qdq');
    expect(graph.node.filter((current) => current.opType === 'DequantizeLinear')).toHaveLength(3);
    // Weights and their zero points, one of each per layer.
    expect(graph.initializer.filter((t) => t.dataType === TensorDataType.UINT8)).toHaveLength(6);
    expect(bytes.byteLength).toBeLessThan(0.3 * mlp.byteLength);
  });

  it('quantises Conv filters to ConvInteger (plain, strided depthwise and 1×1 with bias), tracking the float CNN', async () => {
    const cnn = smallCnn();
    const { bytes, report } = quantizeInt8(cnn);
    expect(report).toMatchObject({ nodesRewritten: 3, weightsChanged: ['w1', 'w2', 'w3'] });
    const opTypes = decodeModel(bytes).graph.node.map((current) => current.opType);
    expect(opTypes.filter((opType) => opType === 'ConvInteger')).toHaveLength(3);
    expect(opTypes).not.toContain('Conv');
    const input = new ort.Tensor('float32', randomRows(6 * 64, 1, 13), [6, 1, 8, 8]);
    const [expected, actual] = await Promise.all(
      [cnn, bytes].map(async (model) => {
        const result = await (await createSession(model)).run({ input });
        return result.output;
      }),
    );
    expect(actual.dims).toEqual([6, 2, 4, 4]);
    const reference = expected.data as Float32Array;
    const peak = reference.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
    expect(peak).toBeGreaterThan(0.1);
    // 8-bit weights and activations: within a few per cent of the output's range.
    expect(maxAbsDifference(reference, actual.data as Float32Array)).toBeLessThan(0.05 * peak);
  });

  it('scales each Conv output channel on its own: a channel of small weights beside one of large weights keeps its resolution', async () => {
    // Channel 0's weights are ~1000× channel 1's: one scale for the tensor would round every
    // weight of channel 1 to 0 and leave that channel's output at its bias.
    const random = seededRandom(5);
    const weights = Array.from(
      { length: 2 * 9 },
      (_, index) => (random() * 2 - 1) * (index < 9 ? 1 : 0.001),
    );
    const cnn = encodeModel(
      buildModel({
        graph: {
          nodes: [
            node('Conv', ['input', 'w', 'b'], ['output'], { kernel_shape: attribute.ints([3, 3]) }),
          ],
          initializers: [
            tensorProto('w', TensorDataType.FLOAT, [2, 1, 3, 3], weights),
            tensorProto('b', TensorDataType.FLOAT, [2], [0.1, 0]),
          ],
          inputs: [valueInfo('input', TensorDataType.FLOAT, ['batch', 1, 6, 6])],
          outputs: [valueInfo('output', TensorDataType.FLOAT, ['batch', 2, 4, 4])],
        },
      }),
    );
    const { bytes, report } = quantizeInt8(cnn);
    const scale = decodeModel(bytes).graph.initializer.find((t) => t.name?.endsWith('_w_scale'));
    expect(scale?.dims).toEqual([2, 1, 1]);
    // Per channel, the rounding error is at most half a step of the large channel's scale.
    expect(report.maxWeightError).toBeLessThanOrEqual(1 / 127 / 2 + 1e-6);
    const input = new ort.Tensor('float32', randomRows(3 * 36, 1, 17), [3, 1, 6, 6]);
    const [expected, actual] = await Promise.all(
      [cnn, bytes].map(async (model) => (await (await createSession(model)).run({ input })).output),
    );
    const channel = (data: Float32Array, index: number) =>
      Float32Array.from(
        { length: 3 * 16 },
        (_, i) => data[Math.floor(i / 16) * 32 + index * 16 + (i % 16)],
      );
    for (const index of [0, 1]) {
      const reference = channel(expected.data as Float32Array, index);
      const quantized = channel(actual.data as Float32Array, index);
      const peak = reference.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
      expect(peak).toBeGreaterThan(index === 0 ? 0.1 : 1e-4);
      // Each channel within a few per cent of its own range (the small one too).
      expect(maxAbsDifference(reference, quantized)).toBeLessThan(0.05 * peak);
    }
  });

  it('leaves Conv in float in the qdq form (weights of MatMul and Gemm only)', () => {
    expect(() => quantizeInt8(smallCnn(), { form: 'qdq' })).toThrow(/no MatMul, Gemm or Conv/);
  });

  it('refuses a model with no MatMul or Gemm on constant weights', () => {
    const model = encodeModel(
      buildModel({
        graph: {
          nodes: [node('Relu', ['input'], ['output'])],
          inputs: [valueInfo('input', TensorDataType.FLOAT, [2])],
          outputs: [valueInfo('output', TensorDataType.FLOAT, [2])],
        },
      }),
    );
    expect(() => quantizeInt8(model)).toThrow(ModelOptimizationError);
    expect(() => quantizeInt8(model)).toThrow(/no MatMul, Gemm or Conv/);
  });

  it('refuses a model that is already quantised', () => {
    const { bytes } = quantizeInt8(mlp);
    expect(() => quantizeInt8(bytes)).toThrow(/already quantised \(it has a DynamicQuantizeLinear/);
  });

  it('refuses an opset too old for the operators it would add', () => {
    const model = decodeModel(transposedGemm(1, 1));
    model.opsetImport = [{ domain: '', version: 12 }];
    expect(() => quantizeInt8(encodeModel(model), { form: 'qdq' })).toThrow(/needs opset 13/);
  });
});
