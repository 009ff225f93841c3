import { decodeModel, encodeModel } from './onnx-codec.js';
import { attribute, node, tensorProto } from './onnx-builders.js';
import {
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxNode,
  type OnnxTensor,
  TensorDataType,
} from './onnx-model.types.js';
import {
  type DenseWeightUse,
  ModelOptimizationError,
  dropUnusedInitializers,
  type OptimizationReport,
  type OptimizationResult,
  QUANTIZED_OP_TYPES,
  denseWeightUses,
  floatTensor,
  floatValues,
} from './model-optimization.js';

/**
 * `dynamic`: DynamicQuantizeLinear on the activations, MatMulInteger on int8 weights, then a
 * Cast and a Mul by the product of the scales (the pattern onnxruntime fuses into one
 * DynamicQuantizeMatMul kernel). `qdq`: int8 weights behind a DequantizeLinear feeding the
 * float MatMul/Gemm (smaller file, float compute).
 */
export type QuantizationForm = 'dynamic' | 'qdq';

export interface QuantizeInt8Options {
  /** Defaults to `dynamic`, the faster of the two on onnxruntime-node's CPU provider (bench/optimize). */
  form?: QuantizationForm;
}

export interface QuantizeInt8Report extends OptimizationReport {
  transform: 'quantize-int8';
  form: QuantizationForm;
  /** Largest |w − dequantised w| over all quantised weights. */
  maxWeightError: number;
}

interface QuantizedWeight {
  /** int8, the layout of the source initializer ([K,N], or [N,K] under transB). */
  values: Int8Array;
  /** One scale per output column. */
  scales: Float32Array;
  maxError: number;
}

/**
 * Weight-only int8 quantisation of MatMul and Gemm nodes whose weight (input B) is a constant
 * float matrix (symmetric, one scale per output column) and, in the dynamic form, of Conv nodes
 * whose filter is a constant float tensor (symmetric, one scale per output channel; the zero
 * point is 128 for all of them, as onnxruntime's ConvInteger takes a single one). Activations
 * stay float at the graph's edges; what happens to them inside depends on `form`. Other nodes are left as they are.
 */
export function quantizeInt8(
  modelBytes: Uint8Array,
  options: QuantizeInt8Options = {},
): OptimizationResult<QuantizeInt8Report> {
  const form = options.form ?? 'dynamic';
  const model = decodeModel(modelBytes);
  const { graph } = model;
  const quantised = graph.node.find(
    (candidate) => QUANTIZED_OP_TYPES.has(candidate.opType) || candidate.opType.includes('QLinear'),
  );
  if (quantised) {
    throw new ModelOptimizationError(
      `the model is already quantised (it has a ${quantised.opType} node)`,
    );
  }
  // DynamicQuantizeLinear is opset 11, per-axis DequantizeLinear 13. Raising a model's opset
  // would change what some of its other operators mean, so an older model is refused instead.
  const needed = form === 'qdq' ? 13 : 11;
  const opset = model.opsetImport.find((entry) => entry.domain === '')?.version ?? 0;
  if (opset < needed) {
    throw new ModelOptimizationError(
      `${form} int8 quantisation needs opset ${needed} or later; the model declares opset ${opset}`,
    );
  }
  const uses = denseWeightUses(graph).filter((use) => quantizable(graph.node[use.nodeIndex]));
  const convolutions = form === 'dynamic' ? convolutionUses(graph) : [];
  if (uses.length === 0 && convolutions.length === 0) {
    throw new ModelOptimizationError(
      'nothing to quantise: no MatMul, Gemm or Conv node has a constant float weight',
    );
  }

  const cache = new Map<string, QuantizedWeight>();
  const added: OnnxTensor[] = [];
  const replacements = new Map<number, OnnxNode[]>();
  let maxWeightError = 0;
  for (const use of uses) {
    const source = graph.node[use.nodeIndex];
    const transB = use.opType === 'Gemm' && intAttribute(source.attribute, 'transB', 0) === 1;
    const weightName = use.weight.name ?? '';
    let quantizedWeight = cache.get(weightName);
    if (!quantizedWeight) {
      quantizedWeight = quantizeColumns(use.weight, transB ? 0 : 1);
      cache.set(weightName, quantizedWeight);
    }
    maxWeightError = Math.max(maxWeightError, quantizedWeight.maxError);
    const prefix = `${source.output[0]}_q${use.nodeIndex}`;
    const rewrite =
      form === 'qdq'
        ? qdqNodes(source, use, quantizedWeight, transB, prefix)
        : dynamicNodes(source, use, quantizedWeight, transB, prefix);
    added.push(...rewrite.initializers);
    replacements.set(use.nodeIndex, rewrite.nodes);
  }

  for (const use of convolutions) {
    const rewrite = convolutionNodes(graph.node[use.nodeIndex], use);
    maxWeightError = Math.max(maxWeightError, rewrite.weight.maxError);
    cache.set(use.weight.name ?? '', rewrite.weight);
    added.push(...rewrite.initializers);
    replacements.set(use.nodeIndex, rewrite.nodes);
  }

  graph.node = graph.node.flatMap((current, index) => replacements.get(index) ?? [current]);
  graph.initializer = [...graph.initializer, ...added];
  dropUnusedInitializers(graph);
  const bytes = encodeModel(model);
  return {
    bytes,
    report: {
      transform: 'quantize-int8',
      form,
      nodesRewritten: uses.length + convolutions.length,
      weightsChanged: [...cache.keys()],
      maxWeightError,
      bytesBefore: modelBytes.byteLength,
      bytesAfter: bytes.byteLength,
    },
  };
}

function quantizable(candidate: OnnxNode): boolean {
  // Gemm with transA would need its input transposed too; leave it in float.
  return candidate.opType !== 'Gemm' || intAttribute(candidate.attribute, 'transA', 0) === 0;
}

/**
 * Symmetric int8 with a scale per slice along `axis`: a matrix's output columns (1, or 0 under
 * transB), a Conv filter's output channels (0).
 */
function quantizeColumns(weight: OnnxTensor, axis: 0 | 1): QuantizedWeight {
  // A tensor of more than two axes is read as [dims[0], the rest]: a Conv filter's output channels.
  const columns = weight.dims.slice(1).reduce((product, dim) => product * dim, 1);
  const values = floatValues(weight);
  const rows = weight.dims[0];
  const channels = axis === 1 ? columns : rows;
  const channelOf = (index: number) => (axis === 1 ? index % columns : Math.floor(index / columns));
  const maxAbs = new Float32Array(channels);
  values.forEach((value, index) => {
    const channel = channelOf(index);
    maxAbs[channel] = Math.max(maxAbs[channel], Math.abs(value));
  });
  // 127, not 128: symmetric around 0, so -w quantises to -q.
  const scales = maxAbs.map((max) => (max > 0 ? max / 127 : 1));
  const quantized = new Int8Array(values.length);
  let maxError = 0;
  values.forEach((value, index) => {
    const scale = scales[channelOf(index)];
    const q = Math.max(-127, Math.min(127, Math.round(value / scale)));
    quantized[index] = q;
    maxError = Math.max(maxError, Math.abs(value - q * Math.fround(scale)));
  });
  return { values: quantized, scales, maxError };
}

interface Rewrite {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
}

/**
 * Stored as uint8 with zero point 128 (q + 128), not int8: onnxruntime's x86 kernel for uint8
 * activations × int8 weights sums pairs of products in int16 and saturates (255·127·2 > 32767),
 * which cost 20 % of the output on a plain Gemm; uint8 × uint8 widens first and does not.
 */
function weightTensor(name: string, dims: readonly number[], values: Int8Array): OnnxTensor {
  return {
    name,
    dataType: TensorDataType.UINT8,
    dims: [...dims],
    rawData: Uint8Array.from(values, (value) => value + 128),
  };
}

function zeroPointTensor(name: string, count: number): OnnxTensor {
  return {
    name,
    dataType: TensorDataType.UINT8,
    dims: [count],
    rawData: new Uint8Array(count).fill(128),
  };
}

function qdqNodes(
  source: OnnxNode,
  use: DenseWeightUse,
  weight: QuantizedWeight,
  transB: boolean,
  prefix: string,
): Rewrite {
  const name = use.weight.name ?? '';
  const initializers = [
    weightTensor(`${name}_quantized`, use.weight.dims, weight.values),
    floatTensor(`${name}_scale`, [weight.scales.length], weight.scales),
    zeroPointTensor(`${name}_zero_point`, weight.scales.length),
  ];
  const dequantized = `${prefix}_weight`;
  return {
    nodes: [
      node(
        'DequantizeLinear',
        [`${name}_quantized`, `${name}_scale`, `${name}_zero_point`],
        [dequantized],
        { axis: attribute.int(transB ? 0 : 1) },
      ),
      { ...source, input: [source.input[0], dequantized, ...source.input.slice(2)] },
    ],
    // A weight shared by several nodes is added once per use; dropUnusedInitializers keeps one.
    initializers,
  };
}

function dynamicNodes(
  source: OnnxNode,
  use: DenseWeightUse,
  weight: QuantizedWeight,
  transB: boolean,
  prefix: string,
): Rewrite {
  const name = use.weight.name ?? '';
  const [rows, columns] = use.weight.dims;
  // MatMulInteger takes B as [K,N]: transpose a transB weight once, here.
  const values = transB ? transpose(weight.values, rows, columns) : weight.values;
  const dims = transB ? [columns, rows] : [rows, columns];
  let scales = weight.scales;
  const initializers: OnnxTensor[] = [
    weightTensor(`${name}_quantized`, dims, values),
    zeroPointTensor(`${name}_zero_point`, scales.length),
  ];
  const nodes: OnnxNode[] = [
    node(
      'DynamicQuantizeLinear',
      [source.input[0]],
      [`${prefix}_x`, `${prefix}_x_scale`, `${prefix}_x_zero_point`],
    ),
    node(
      'MatMulInteger',
      [`${prefix}_x`, `${name}_quantized`, `${prefix}_x_zero_point`, `${name}_zero_point`],
      [`${prefix}_int32`],
    ),
    node('Cast', [`${prefix}_int32`], [`${prefix}_float`], {
      to: attribute.int(TensorDataType.FLOAT),
    }),
  ];
  let bias: string | undefined;
  if (source.opType === 'Gemm') {
    const alpha = floatAttribute(source.attribute, 'alpha', 1);
    const beta = floatAttribute(source.attribute, 'beta', 1);
    if (alpha !== 1) scales = scales.map((scale) => scale * alpha);
    if (source.input[2]) {
      bias = source.input[2];
      if (beta !== 1) {
        initializers.push(tensorProto(`${prefix}_beta`, TensorDataType.FLOAT, [], [beta]));
        nodes.push(node('Mul', [source.input[2], `${prefix}_beta`], [`${prefix}_bias`]));
        bias = `${prefix}_bias`;
      }
    }
  }
  initializers.push(floatTensor(`${prefix}_w_scale`, [scales.length], scales));
  const output = source.output[0];
  const scaled = bias ? `${prefix}_scaled` : output;
  nodes.push(
    node('Mul', [`${prefix}_x_scale`, `${prefix}_w_scale`], [`${prefix}_scale`]),
    node('Mul', [`${prefix}_float`, `${prefix}_scale`], [scaled]),
  );
  if (bias) nodes.push(node('Add', [scaled, bias], [output]));
  return { nodes, initializers };
}

interface ConvolutionUse {
  nodeIndex: number;
  weight: OnnxTensor;
  /** The bias (input 2) when it is a float initializer; a computed bias is not supported. */
  bias?: OnnxTensor;
}

/** Conv nodes whose filter (input 1) is a float initializer, and whose bias is one or absent. */
function convolutionUses(graph: OnnxGraph): ConvolutionUse[] {
  const initializers = new Map(graph.initializer.map((tensor) => [tensor.name ?? '', tensor]));
  const uses: ConvolutionUse[] = [];
  graph.node.forEach((candidate, nodeIndex) => {
    if (candidate.opType !== 'Conv' || (candidate.domain ?? '') !== '') return;
    const weight = initializers.get(candidate.input[1] ?? '');
    if (weight?.dataType !== TensorDataType.FLOAT || weight.dims.length < 3) return;
    if (weight.dataLocation === 1) return;
    const biasName = candidate.input[2];
    const bias = biasName ? initializers.get(biasName) : undefined;
    if (biasName && bias?.dataType !== TensorDataType.FLOAT) return;
    uses.push({ nodeIndex, weight, ...(bias && { bias }) });
  });
  return uses;
}

/**
 * Conv → DynamicQuantizeLinear on its input, ConvInteger on the uint8 filter (zero point 128,
 * one scale per output channel), Cast, Mul by the input's scale times the channels' scales
 * (shaped [M, 1, …]), and the bias added back, shaped alike. The Conv's attributes (strides,
 * pads, dilations, group, kernel_shape, auto_pad) carry over to ConvInteger unchanged.
 */
function convolutionNodes(
  source: OnnxNode,
  use: ConvolutionUse,
): Rewrite & { weight: QuantizedWeight } {
  const name = use.weight.name ?? '';
  const prefix = `${source.output[0]}_q${use.nodeIndex}`;
  // One scale per output channel (the filter's first axis, the rows of the filter seen as
  // [M, C·k…]): a channel of small weights keeps its resolution beside one of large weights.
  // Symmetric, so every channel's zero point is the same 128 and ConvInteger's single filter
  // zero point still holds.
  const weight = quantizeColumns(use.weight, 0);
  const channels = weight.scales.length;
  // [M] → [M, 1, …, 1]: one trailing axis per spatial axis of the filter, to broadcast over
  // the output's [N, M, spatial…].
  const channelShape = [channels, ...Array<number>(use.weight.dims.length - 2).fill(1)];
  const initializers: OnnxTensor[] = [
    weightTensor(`${name}_quantized`, use.weight.dims, weight.values),
    zeroPointTensor(`${name}_zero_point`, 1),
    floatTensor(`${prefix}_w_scale`, channelShape, weight.scales),
  ];
  const output = source.output[0];
  const scaled = use.bias ? `${prefix}_scaled` : output;
  const nodes: OnnxNode[] = [
    node(
      'DynamicQuantizeLinear',
      [source.input[0]],
      [`${prefix}_x`, `${prefix}_x_scale`, `${prefix}_x_zero_point`],
    ),
    {
      ...node(
        'ConvInteger',
        [`${prefix}_x`, `${name}_quantized`, `${prefix}_x_zero_point`, `${name}_zero_point`],
        [`${prefix}_int32`],
      ),
      attribute: source.attribute,
    },
    node('Cast', [`${prefix}_int32`], [`${prefix}_float`], {
      to: attribute.int(TensorDataType.FLOAT),
    }),
    node('Mul', [`${prefix}_x_scale`, `${prefix}_w_scale`], [`${prefix}_scale`]),
    node('Mul', [`${prefix}_float`, `${prefix}_scale`], [scaled]),
  ];
  if (use.bias) {
    initializers.push(floatTensor(`${prefix}_bias`, channelShape, floatValues(use.bias)));
    nodes.push(node('Add', [scaled, `${prefix}_bias`], [output]));
  }
  return {
    nodes,
    initializers,
    weight,
  };
}

function transpose(values: Int8Array, rows: number, columns: number): Int8Array {
  const result = new Int8Array(values.length);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) {
      result[column * rows + row] = values[row * columns + column];
    }
  }
  return result;
}

function intAttribute(attributes: OnnxAttribute[], name: string, fallback: number): number {
  return attributes.find((candidate) => candidate.name === name)?.i ?? fallback;
}

function floatAttribute(attributes: OnnxAttribute[], name: string, fallback: number): number {
  return attributes.find((candidate) => candidate.name === name)?.f ?? fallback;
}
