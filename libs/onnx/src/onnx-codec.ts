import type {
  AttributeType,
  OnnxAttribute,
  OnnxDimension,
  OnnxFunction,
  OnnxGraph,
  OnnxModel,
  OnnxNode,
  OnnxSparseTensor,
  OnnxStringStringEntry,
  OnnxTensor,
  OnnxTrainingInfo,
  OnnxType,
  OnnxValueInfo,
} from './onnx-model.types.js';
import { modelProtoType } from './onnx-proto.js';

/** Thrown when bytes are not a protobuf-encoded ONNX ModelProto. */
export class OnnxDecodeError extends Error {
  readonly code = 'INVALID_MODEL';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnnxDecodeError';
  }
}

/** Serialises a model to the ONNX protobuf wire format (what onnxruntime loads). */
export function encodeModel(model: OnnxModel): Uint8Array {
  const message = modelProtoType.fromObject(toProtobufObject(model) as Record<string, unknown>);
  return modelProtoType.encode(message).finish();
}

/** Parses ONNX protobuf bytes into plain objects. Does not check the graph is runnable. */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  let decoded: Decoded;
  try {
    const message = modelProtoType.decode(bytes);
    decoded = modelProtoType.toObject(message, { longs: String, arrays: true, defaults: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OnnxDecodeError(`not an ONNX model: ${reason}`, { cause: error });
  }
  return {
    ...pickDefined(decoded, ['producerName', 'producerVersion', 'domain', 'docString']),
    irVersion: toNumber(decoded.irVersion),
    opsetImport: decoded.opsetImport.map((opset: Decoded) => ({
      domain: opset.domain ?? '',
      version: toNumber(opset.version),
    })),
    ...(decoded.modelVersion !== undefined && { modelVersion: toNumber(decoded.modelVersion) }),
    graph: normalizeGraph(decoded.graph ?? {}),
    ...(decoded.metadataProps.length > 0 && {
      metadataProps: decoded.metadataProps.map(normalizeEntry),
    }),
    ...(decoded.trainingInfo.length > 0 && {
      trainingInfo: decoded.trainingInfo.map(normalizeTrainingInfo),
    }),
    ...(decoded.functions.length > 0 && { functions: decoded.functions.map(normalizeFunction) }),
  };
}

// protobufjs' toObject output is untyped; the normalizers below give it the OnnxModel shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Decoded = Record<string, any>;

function toNumber(value: unknown): number {
  return value === undefined || value === null ? 0 : Number(value);
}

function toBytes(value: Uint8Array): Uint8Array {
  // protobufjs hands out Buffers on Node; expose plain Uint8Array views of the same memory.
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function pickDefined<K extends string>(source: Decoded, keys: K[]): Partial<Record<K, string>> {
  const picked: Partial<Record<K, string>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

function normalizeEntry(entry: Decoded): OnnxStringStringEntry {
  return { key: entry.key ?? '', value: entry.value ?? '' };
}

function normalizeGraph(graph: Decoded): OnnxGraph {
  return {
    name: graph.name ?? '',
    node: (graph.node ?? []).map(normalizeNode),
    initializer: (graph.initializer ?? []).map(normalizeTensor),
    input: (graph.input ?? []).map(normalizeValueInfo),
    output: (graph.output ?? []).map(normalizeValueInfo),
    ...(graph.sparseInitializer?.length > 0 && {
      sparseInitializer: graph.sparseInitializer.map(normalizeSparseTensor),
    }),
    ...(graph.valueInfo?.length > 0 && { valueInfo: graph.valueInfo.map(normalizeValueInfo) }),
    ...pickDefined(graph, ['docString']),
  };
}

function normalizeTrainingInfo(info: Decoded): OnnxTrainingInfo {
  return {
    ...(info.initialization !== undefined && {
      initialization: normalizeGraph(info.initialization),
    }),
    ...(info.algorithm !== undefined && { algorithm: normalizeGraph(info.algorithm) }),
    ...(info.initializationBinding.length > 0 && {
      initializationBinding: info.initializationBinding.map(normalizeEntry),
    }),
    ...(info.updateBinding.length > 0 && { updateBinding: info.updateBinding.map(normalizeEntry) }),
  };
}

function normalizeFunction(fn: Decoded): OnnxFunction {
  return {
    name: fn.name ?? '',
    input: fn.input,
    output: fn.output,
    node: fn.node.map(normalizeNode),
    ...(fn.attribute.length > 0 && { attribute: fn.attribute }),
    ...(fn.attributeProto.length > 0 && {
      attributeProto: fn.attributeProto.map(normalizeAttribute),
    }),
    ...(fn.opsetImport.length > 0 && {
      opsetImport: fn.opsetImport.map((opset: Decoded) => ({
        domain: opset.domain ?? '',
        version: toNumber(opset.version),
      })),
    }),
    ...(fn.valueInfo.length > 0 && { valueInfo: fn.valueInfo.map(normalizeValueInfo) }),
    ...pickDefined(fn, ['domain', 'overload', 'docString']),
  };
}

function normalizeNode(node: Decoded): OnnxNode {
  return {
    input: node.input,
    output: node.output,
    opType: node.opType ?? '',
    attribute: node.attribute.map(normalizeAttribute),
    ...pickDefined(node, ['name', 'domain', 'overload', 'docString']),
  };
}

function normalizeAttribute(attribute: Decoded): OnnxAttribute {
  const result: OnnxAttribute = {
    name: attribute.name ?? '',
    type: (attribute.type ?? 0) as AttributeType,
    ...pickDefined(attribute, ['refAttrName', 'docString']),
  };
  if (attribute.f !== undefined) result.f = attribute.f;
  if (attribute.i !== undefined) result.i = toNumber(attribute.i);
  if (attribute.s !== undefined) result.s = toBytes(attribute.s);
  if (attribute.t !== undefined) result.t = normalizeTensor(attribute.t);
  if (attribute.g !== undefined) result.g = normalizeGraph(attribute.g);
  if (attribute.sparseTensor !== undefined) {
    result.sparseTensor = normalizeSparseTensor(attribute.sparseTensor);
  }
  if (attribute.tp !== undefined) result.tp = normalizeType(attribute.tp);
  if (attribute.floats.length > 0) result.floats = attribute.floats;
  if (attribute.ints.length > 0) result.ints = attribute.ints.map(toNumber);
  if (attribute.strings.length > 0) result.strings = attribute.strings.map(toBytes);
  if (attribute.tensors.length > 0) result.tensors = attribute.tensors.map(normalizeTensor);
  if (attribute.graphs.length > 0) result.graphs = attribute.graphs.map(normalizeGraph);
  if (attribute.sparseTensors.length > 0) {
    result.sparseTensors = attribute.sparseTensors.map(normalizeSparseTensor);
  }
  if (attribute.typeProtos.length > 0) result.typeProtos = attribute.typeProtos.map(normalizeType);
  return result;
}

function normalizeTensor(tensor: Decoded): OnnxTensor {
  const result: OnnxTensor = {
    dims: tensor.dims.map(toNumber),
    dataType: tensor.dataType ?? 0,
    ...pickDefined(tensor, ['name', 'docString']),
  };
  if (tensor.rawData !== undefined) result.rawData = toBytes(tensor.rawData);
  if (tensor.floatData.length > 0) result.floatData = tensor.floatData;
  if (tensor.int32Data.length > 0) result.int32Data = tensor.int32Data;
  if (tensor.stringData.length > 0) result.stringData = tensor.stringData.map(toBytes);
  if (tensor.int64Data.length > 0) result.int64Data = tensor.int64Data.map(BigInt);
  if (tensor.doubleData.length > 0) result.doubleData = tensor.doubleData;
  if (tensor.uint64Data.length > 0) result.uint64Data = tensor.uint64Data.map(BigInt);
  if (tensor.externalData.length > 0) result.externalData = tensor.externalData.map(normalizeEntry);
  if (tensor.dataLocation !== undefined) result.dataLocation = tensor.dataLocation;
  return result;
}

function normalizeSparseTensor(sparse: Decoded): OnnxSparseTensor {
  return {
    dims: sparse.dims.map(toNumber),
    ...(sparse.values !== undefined && { values: normalizeTensor(sparse.values) }),
    ...(sparse.indices !== undefined && { indices: normalizeTensor(sparse.indices) }),
  };
}

function normalizeValueInfo(info: Decoded): OnnxValueInfo {
  return {
    name: info.name ?? '',
    ...(info.type !== undefined && { type: normalizeType(info.type) }),
    ...pickDefined(info, ['docString']),
  };
}

function normalizeShape(shape: Decoded | undefined): { shape?: { dim: OnnxDimension[] } } {
  if (shape === undefined) return {};
  const dim = shape.dim.map((dimension: Decoded): OnnxDimension => ({
    ...(dimension.dimValue !== undefined && { dimValue: toNumber(dimension.dimValue) }),
    ...pickDefined(dimension, ['dimParam', 'denotation']),
  }));
  return { shape: { dim } };
}

function normalizeType(type: Decoded): OnnxType {
  const result: OnnxType = { ...pickDefined(type, ['denotation']) };
  if (type.tensorType !== undefined) {
    result.tensorType = {
      elemType: type.tensorType.elemType ?? 0,
      ...normalizeShape(type.tensorType.shape),
    };
  }
  if (type.sparseTensorType !== undefined) {
    result.sparseTensorType = {
      elemType: type.sparseTensorType.elemType ?? 0,
      ...normalizeShape(type.sparseTensorType.shape),
    };
  }
  if (type.sequenceType !== undefined) {
    const elemType = type.sequenceType.elemType;
    result.sequenceType = elemType === undefined ? {} : { elemType: normalizeType(elemType) };
  }
  if (type.optionalType !== undefined) {
    const elemType = type.optionalType.elemType;
    result.optionalType = elemType === undefined ? {} : { elemType: normalizeType(elemType) };
  }
  if (type.mapType !== undefined) {
    const valueType = type.mapType.valueType;
    result.mapType = {
      keyType: type.mapType.keyType ?? 0,
      ...(valueType !== undefined && { valueType: normalizeType(valueType) }),
    };
  }
  return result;
}

/** protobufjs' fromObject takes int64s as numbers, strings or Longs, not bigint. */
function toProtobufObject(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(toProtobufObject);
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (field !== undefined) result[key] = toProtobufObject(field);
    }
    return result;
  }
  return value;
}
