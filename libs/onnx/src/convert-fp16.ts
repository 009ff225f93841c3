import { decodeModel, encodeModel } from './onnx-codec.js';
import { attribute, node } from './onnx-builders.js';
import {
  AttributeType,
  type OnnxGraph,
  type OnnxModel,
  type OnnxTensor,
  type OnnxType,
  TensorDataType,
} from './onnx-model.types.js';
import {
  ModelOptimizationError,
  type OptimizationReport,
  type OptimizationResult,
  QUANTIZED_OP_TYPES,
  floatValues,
} from './model-optimization.js';

/**
 * Operators whose float16 kernels onnxruntime-node 1.30's CPU provider was seen to run, and
 * run correctly, in convert-fp16.spec.ts. A graph with any other operator is refused rather
 * than handed to a runtime that may have no kernel for it.
 */
export const FP16_CPU_OPERATORS: ReadonlySet<string> = new Set([
  'Gemm',
  'MatMul',
  'Add',
  'Relu',
  'Softmax',
  'Cast',
  'Identity',
]);

export interface ConvertFp16Report extends OptimizationReport {
  transform: 'convert-fp16';
}

/**
 * Weights and compute in half precision: float initializers become float16, as does every
 * float tensor inside the graph, with Casts at the inputs and outputs so the signature stays
 * float32. Refused, with the operator named, when the graph holds an operator not in
 * {@link FP16_CPU_OPERATORS}, or nothing in float.
 */
export function convertFp16(modelBytes: Uint8Array): OptimizationResult<ConvertFp16Report> {
  const { model, converted, castsAdded } = toFloat16Model(modelBytes);
  const unsupported = [
    ...new Set(
      model.graph.node
        .filter(
          (current) => (current.domain ?? '') !== '' || !FP16_CPU_OPERATORS.has(current.opType),
        )
        .map((current) => current.opType),
    ),
  ];
  if (unsupported.length > 0) {
    const quantised = unsupported.some((opType) => QUANTIZED_OP_TYPES.has(opType));
    throw new ModelOptimizationError(
      quantised
        ? 'float16 conversion of a quantised model is not supported'
        : `float16 is refused: onnxruntime's CPU provider is not known to run ${unsupported.join(', ')} ` +
            `in float16 (supported: ${[...FP16_CPU_OPERATORS].join(', ')})`,
    );
  }
  if (converted.length === 0) {
    throw new ModelOptimizationError('nothing to convert: the model has no float weights');
  }
  const bytes = encodeModel(model);
  return {
    bytes,
    report: {
      transform: 'convert-fp16',
      nodesRewritten: castsAdded,
      weightsChanged: converted,
      bytesBefore: modelBytes.byteLength,
      bytesAfter: bytes.byteLength,
    },
  };
}

/** IEEE 754 binary16 bits of a float (round to nearest even; overflow to ±Infinity). */
export function float16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && half & 1)) half += 1;
    return sign | half;
  }
  let half = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && half & 1)) {
    half += 1;
    if (half === 0x400) {
      half = 0;
      halfExponent += 1;
      if (halfExponent >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (halfExponent << 10) | half;
}

function toFloat16Tensor(tensor: OnnxTensor): OnnxTensor {
  const values = floatValues(tensor);
  const half = new Uint16Array(values.length);
  values.forEach((value, index) => (half[index] = float16Bits(value)));
  return {
    ...(tensor.name !== undefined && { name: tensor.name }),
    dims: tensor.dims,
    dataType: TensorDataType.FLOAT16,
    rawData: new Uint8Array(half.buffer),
  };
}

function narrowType(type: OnnxType | undefined): void {
  if (type?.tensorType?.elemType === TensorDataType.FLOAT) {
    type.tensorType.elemType = TensorDataType.FLOAT16;
  }
}

/**
 * The model with every float tensor inside the graph in float16 (initializers, Constant
 * values, Casts to float, value_info), and Casts at the float inputs and outputs so the
 * signature stays float32. Top-level graph only.
 */
function toFloat16Model(modelBytes: Uint8Array): {
  model: OnnxModel;
  converted: string[];
  castsAdded: number;
} {
  const model = decodeModel(modelBytes);
  const graph: OnnxGraph = model.graph;
  const converted: string[] = [];
  graph.initializer = graph.initializer.map((tensor) => {
    if (tensor.dataType !== TensorDataType.FLOAT || tensor.dataLocation === 1) return tensor;
    converted.push(tensor.name ?? '');
    return toFloat16Tensor(tensor);
  });
  for (const current of graph.node) {
    for (const attr of current.attribute) {
      if (current.opType === 'Cast' && attr.name === 'to' && attr.i === TensorDataType.FLOAT) {
        attr.i = TensorDataType.FLOAT16;
      }
      if (attr.type === AttributeType.TENSOR && attr.t?.dataType === TensorDataType.FLOAT) {
        attr.t = toFloat16Tensor(attr.t);
      }
    }
  }
  for (const info of graph.valueInfo ?? []) narrowType(info.type);

  const rename = new Map<string, string>();
  const entry = graph.input
    .filter((input) => input.type?.tensorType?.elemType === TensorDataType.FLOAT)
    .map((input) => {
      rename.set(input.name, `${input.name}_fp16`);
      return node('Cast', [input.name], [`${input.name}_fp16`], {
        to: attribute.int(TensorDataType.FLOAT16),
      });
    });
  for (const current of graph.node) {
    current.input = current.input.map((name) => rename.get(name) ?? name);
  }
  const exit = graph.output
    .filter((output) => output.type?.tensorType?.elemType === TensorDataType.FLOAT)
    .map((output) => {
      const inner = `${output.name}_fp16`;
      for (const current of graph.node) {
        current.output = current.output.map((name) => (name === output.name ? inner : name));
        current.input = current.input.map((name) => (name === output.name ? inner : name));
      }
      return node('Cast', [inner], [output.name], { to: attribute.int(TensorDataType.FLOAT) });
    });
  graph.node = [...entry, ...graph.node, ...exit];
  return { model, converted, castsAdded: entry.length + exit.length };
}
