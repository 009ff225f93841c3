import { decodeModel, encodeModel } from './onnx-codec.js';
import {
  ModelOptimizationError,
  type OptimizationReport,
  type OptimizationResult,
  denseWeightUses,
  floatTensor,
  floatValues,
} from './model-optimization.js';

export interface PruneMagnitudeReport extends OptimizationReport {
  transform: 'prune-magnitude';
  sparsity: number;
  /** The fraction of zeros in each pruned weight, by initializer name. */
  weightSparsity: Record<string, number>;
}

export const MAX_PRUNE_SPARSITY = 0.95;

/**
 * Magnitude pruning: in each dense weight (the constant float B of a MatMul or Gemm) the
 * `sparsity` fraction of entries with the smallest |w| become 0. Biases and every other tensor
 * are left alone. The file keeps its size (dense storage); the zeros are what a sparse format
 * or a compressor would use.
 */
export function pruneMagnitude(
  modelBytes: Uint8Array,
  sparsity: number,
): OptimizationResult<PruneMagnitudeReport> {
  if (!Number.isFinite(sparsity) || sparsity < 0 || sparsity > MAX_PRUNE_SPARSITY) {
    throw new RangeError(`sparsity must be between 0 and ${MAX_PRUNE_SPARSITY}, got ${sparsity}`);
  }
  const model = decodeModel(modelBytes);
  const { graph } = model;
  const uses = denseWeightUses(graph);
  if (uses.length === 0) {
    throw new ModelOptimizationError(
      'nothing to prune: no MatMul or Gemm node has a constant float weight matrix',
    );
  }
  const pruned = new Map<string, ReturnType<typeof floatTensor>>();
  const weightSparsity: Record<string, number> = {};
  for (const { weight } of uses) {
    const name = weight.name ?? '';
    if (pruned.has(name)) continue;
    const values = pruneValues(floatValues(weight), sparsity);
    pruned.set(name, floatTensor(name, weight.dims, values));
    weightSparsity[name] = values.filter((value) => value === 0).length / values.length;
  }
  graph.initializer = graph.initializer.map((tensor) => pruned.get(tensor.name ?? '') ?? tensor);
  const bytes = encodeModel(model);
  return {
    bytes,
    report: {
      transform: 'prune-magnitude',
      sparsity,
      weightSparsity,
      nodesRewritten: 0,
      weightsChanged: [...pruned.keys()],
      bytesBefore: modelBytes.byteLength,
      bytesAfter: bytes.byteLength,
    },
  };
}

/** Zeroes exactly round(sparsity · n) entries, the smallest by magnitude (ties by position). */
function pruneValues(values: Float32Array, sparsity: number): Float32Array {
  const count = Math.round(sparsity * values.length);
  if (count === 0) return values;
  const order = Uint32Array.from(values.keys()).sort(
    (a, b) => Math.abs(values[a]) - Math.abs(values[b]) || a - b,
  );
  for (let index = 0; index < count; index += 1) values[order[index]] = 0;
  return values;
}
