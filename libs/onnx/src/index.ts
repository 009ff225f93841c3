export * from './onnx-model.types.js';
export { ONNX_PROTO_SUBSET, onnxProtoType } from './onnx-proto.js';
export { OnnxDecodeError, decodeModel, encodeModel } from './onnx-codec.js';
export {
  DEFAULT_IR_VERSION,
  DEFAULT_OPSET_VERSION,
  attribute,
  buildModel,
  node,
  readTensorValues,
  tensorProto,
  valueInfo,
} from './onnx-builders.js';
export type {
  AttributeValue,
  BuildModelOptions,
  GraphSpec,
  OpsetVersions,
  TensorValues,
} from './onnx-builders.js';
export {
  buildExternalDataModel,
  buildGemmModel,
  buildLargeAddModel,
  buildSlowMatMulModel,
  externalDataTensor,
  buildMlpModel,
  randomMlp,
  seededRandom,
} from './ready-made-models.js';
export type {
  GemmModelOptions,
  MlpActivation,
  MlpLayer,
  MlpModelOptions,
} from './ready-made-models.js';
export { toV2Datatype } from './v2-datatype.js';
export {
  ModelOptimizationError,
  type OptimizationReport,
  type OptimizationResult,
} from './model-optimization.js';
export {
  type QuantizationForm,
  type QuantizeInt8Options,
  type QuantizeInt8Report,
  quantizeInt8,
} from './quantize-int8.js';
export {
  MAX_PRUNE_SPARSITY,
  type PruneMagnitudeReport,
  pruneMagnitude,
} from './prune-magnitude.js';
export { type ConvertFp16Report, FP16_CPU_OPERATORS, convertFp16 } from './convert-fp16.js';
