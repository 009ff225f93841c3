import { type OnnxGraph, type OnnxTensor, TensorDataType } from './onnx-model.types.js';

/** What a graph transform did, for the new version's record. */
export interface OptimizationReport {
  transform: 'quantize-int8' | 'prune-magnitude' | 'convert-fp16';
  /** Nodes replaced or rewired (a Gemm rewritten as MatMulInteger + Mul + Add counts once). */
  nodesRewritten: number;
  /** Initializers whose values changed (quantised, pruned or narrowed). */
  weightsChanged: string[];
  bytesBefore: number;
  bytesAfter: number;
}

export interface OptimizationResult<R extends OptimizationReport = OptimizationReport> {
  bytes: Uint8Array;
  report: R;
}

/** A transform cannot apply to this model (nothing to rewrite, already done, unsupported). */
export class ModelOptimizationError extends Error {
  readonly code = 'OPTIMIZATION_NOT_APPLICABLE';

  constructor(message: string) {
    super(message);
    this.name = 'ModelOptimizationError';
  }
}

/** Operators that only a quantised graph holds: quantising such a graph again is refused. */
export const QUANTIZED_OP_TYPES: ReadonlySet<string> = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'MatMulInteger',
  'ConvInteger',
  'QLinearMatMul',
  'QLinearConv',
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
]);

/** A dense layer's weight: input 1 of a MatMul or Gemm, held as a float initializer. */
export interface DenseWeightUse {
  nodeIndex: number;
  opType: 'MatMul' | 'Gemm';
  weight: OnnxTensor;
}

export function denseWeightUses(graph: OnnxGraph): DenseWeightUse[] {
  const initializers = new Map(graph.initializer.map((tensor) => [tensor.name ?? '', tensor]));
  const uses: DenseWeightUse[] = [];
  graph.node.forEach((node, nodeIndex) => {
    if ((node.opType !== 'MatMul' && node.opType !== 'Gemm') || (node.domain ?? '') !== '') return;
    const weight = initializers.get(node.input[1] ?? '');
    if (weight?.dataType !== TensorDataType.FLOAT || weight.dims.length !== 2) return;
    if (weight.dataLocation === 1) return;
    uses.push({ nodeIndex, opType: node.opType, weight });
  });
  return uses;
}

/** A float initializer's values, whichever field holds them. */
export function floatValues(tensor: OnnxTensor): Float32Array {
  // raw_data is little-endian, as are the hosts Node runs on (x64, arm64).
  const raw = tensor.rawData;
  if (raw && raw.byteLength > 0) {
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

export function floatTensor(
  name: string,
  dims: readonly number[],
  values: Float32Array,
): OnnxTensor {
  return {
    name,
    dataType: TensorDataType.FLOAT,
    dims: [...dims],
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** Names a graph's nodes read, subgraphs (If, Loop, Scan bodies) included. */
function namesRead(graph: OnnxGraph, into: Set<string>): Set<string> {
  for (const current of graph.node) {
    for (const input of current.input) into.add(input);
    for (const attr of current.attribute) {
      for (const subgraph of [attr.g, ...(attr.graphs ?? [])])
        if (subgraph) namesRead(subgraph, into);
    }
  }
  for (const output of graph.output) into.add(output.name);
  return into;
}

/** Removes initializers nothing reads any more, and duplicates of one name. */
export function dropUnusedInitializers(graph: OnnxGraph): void {
  const used = namesRead(graph, new Set());
  const seen = new Set<string>();
  graph.initializer = graph.initializer.filter((tensor) => {
    const name = tensor.name ?? '';
    if (!used.has(name) || seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}
