import { describe, expect, it } from 'vitest';
import { readTensorValues } from './onnx-builders.js';
import { decodeModel } from './onnx-codec.js';
import { ModelOptimizationError } from './model-optimization.js';
import { runRows, useSessions } from './model-optimization.fixtures.js';
import { pruneMagnitude } from './prune-magnitude.js';
import { quantizeInt8 } from './quantize-int8.js';
import { buildMlpModel, randomMlp, seededRandom } from './ready-made-models.js';

const createSession = useSessions();
const mlp = buildMlpModel({ layers: randomMlp([784, 256, 256, 10], 4) });

function initializers(bytes: Uint8Array): Map<string, number[]> {
  return new Map(
    decodeModel(bytes).graph.initializer.map((tensor) => [
      tensor.name ?? '',
      readTensorValues(tensor) as number[],
    ]),
  );
}

describe('pruneMagnitude', () => {
  it.each([0, 0.5, 0.9, 0.95])(
    'zeroes the smallest %d of each weight, leaves biases alone, and still runs',
    async (sparsity) => {
      const { bytes, report } = pruneMagnitude(mlp, sparsity);
      const before = initializers(mlp);
      const after = initializers(bytes);
      for (const [name, values] of after) {
        const original = before.get(name) ?? [];
        if (name.endsWith('_bias')) {
          expect(values).toEqual(original);
          continue;
        }
        const zeros = values.filter((value) => value === 0).length;
        expect(Math.abs(zeros - sparsity * values.length)).toBeLessThanOrEqual(1);
        expect(report.weightSparsity[name]).toBeCloseTo(sparsity, 3);
        // What survives is untouched and at least as large as anything pruned.
        const smallestKept = values.reduce(
          (min, v) => (v === 0 ? min : Math.min(min, Math.abs(v))),
          Infinity,
        );
        const largestDropped = original.reduce(
          (max, v, index) => (values[index] === 0 ? Math.max(max, Math.abs(v)) : max),
          0,
        );
        expect(smallestKept).toBeGreaterThanOrEqual(largestDropped);
        values.forEach((value, index) => value !== 0 && expect(value).toBe(original[index]));
      }
      const rows = Float32Array.from({ length: 3 * 784 }, seededRandom(2));
      const output = await runRows(await createSession(bytes), rows, 784);
      expect(output).toHaveLength(30);
      expect(output.every(Number.isFinite)).toBe(true);
    },
  );

  it.each([-0.1, 0.96, 1, Number.NaN])('refuses sparsity %d with a RangeError', (sparsity) => {
    expect(() => pruneMagnitude(mlp, sparsity)).toThrow(RangeError);
    expect(() => pruneMagnitude(mlp, sparsity)).toThrow(/between 0 and 0.95/);
  });

  it('refuses a model with no float weight matrix to prune', () => {
    const { bytes } = quantizeInt8(mlp);
    expect(() => pruneMagnitude(bytes, 0.5)).toThrow(ModelOptimizationError);
    expect(() => pruneMagnitude(bytes, 0.5)).toThrow(/nothing to prune/);
  });
});
