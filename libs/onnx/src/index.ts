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
