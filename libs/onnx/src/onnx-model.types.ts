/**
 * Plain-object view of an ONNX model. Field names are onnx.proto's, in camelCase, so anyone
 * who knows the spec can read them. int64 fields are numbers, except tensor payloads
 * (int64Data, uint64Data) which are bigint so large values survive.
 */

/** TensorProto.DataType values (also the elem_type of TypeProto.Tensor). */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

export interface OnnxStringStringEntry {
  key: string;
  value: string;
}

export interface OnnxOperatorSetId {
  /** '' is the default domain (ai.onnx). */
  domain: string;
  version: number;
}

export interface OnnxTensor {
  name?: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: bigint[];
  doubleData?: number[];
  uint64Data?: bigint[];
  docString?: string;
  externalData?: OnnxStringStringEntry[];
  /** 0 = DEFAULT (data inside the model), 1 = EXTERNAL. */
  dataLocation?: number;
}

export interface OnnxSparseTensor {
  values?: OnnxTensor;
  indices?: OnnxTensor;
  dims: number[];
}

export interface OnnxDimension {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface OnnxTensorShape {
  dim: OnnxDimension[];
}

export interface OnnxType {
  tensorType?: { elemType: number; shape?: OnnxTensorShape };
  sequenceType?: { elemType?: OnnxType };
  mapType?: { keyType: number; valueType?: OnnxType };
  optionalType?: { elemType?: OnnxType };
  sparseTensorType?: { elemType: number; shape?: OnnxTensorShape };
  denotation?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: OnnxType;
  docString?: string;
}

export interface OnnxAttribute {
  name: string;
  type: AttributeType;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  sparseTensor?: OnnxSparseTensor;
  tp?: OnnxType;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  sparseTensors?: OnnxSparseTensor[];
  typeProtos?: OnnxType[];
  refAttrName?: string;
  docString?: string;
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  overload?: string;
  attribute: OnnxAttribute[];
  docString?: string;
}

export interface OnnxGraph {
  name: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  sparseInitializer?: OnnxSparseTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: OnnxOperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  metadataProps?: OnnxStringStringEntry[];
  /** Training graphs (ModelProto.training_info); onnxruntime's inference sessions ignore them. */
  trainingInfo?: OnnxTrainingInfo[];
  /** Model-local functions (ModelProto.functions), called by nodes of their domain. */
  functions?: OnnxFunction[];
}

export interface OnnxTrainingInfo {
  initialization?: OnnxGraph;
  algorithm?: OnnxGraph;
  initializationBinding?: OnnxStringStringEntry[];
  updateBinding?: OnnxStringStringEntry[];
}

export interface OnnxFunction {
  name: string;
  domain?: string;
  overload?: string;
  input: string[];
  output: string[];
  /** Attribute parameters without a default value. */
  attribute?: string[];
  /** Attribute parameters with a default value. */
  attributeProto?: OnnxAttribute[];
  node: OnnxNode[];
  opsetImport?: OnnxOperatorSetId[];
  valueInfo?: OnnxValueInfo[];
  docString?: string;
}
