export {
  DATATYPES,
  type Datatype,
  type FixedSizeDatatype,
  type NumericTypedArray,
  type OrtTensorType,
  type TypedArrayByDatatype,
  type TypedArrayConstructorOf,
  datatypeForOrtType,
  elementByteSize,
  isDatatype,
  isFixedSizeDatatype,
  ortTypeForDatatype,
  typedArrayConstructor,
} from './datatype.js';
export {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
} from './half-float.js';
export {
  type BytesData,
  type Tensor,
  type TensorData,
  type TensorParameters,
  type TensorSpec,
  allocateTypedArray,
  asBufferElements,
  assertValidTensor,
  bytesElements,
  packBytesTensors,
  elementCount,
  formatShape,
  isBytesData,
  isDataOfDatatype,
  isShapeCompatible,
} from './tensor.js';
export { TensorError, type TensorErrorCode } from './tensor.error.js';
export { PACK_MIN_ELEMENTS, PackedBytes } from './packed-bytes.js';
export { decodeBinaryTensorData, encodeBinaryTensorData } from './binary-tensor.codec.js';
export {
  type BinaryOutputs,
  type DecodeInferRequestOptions,
  type InferRequest,
  type RequestedOutput,
  decodeInferRequest,
  isBinaryOutput,
} from './infer-request.decoder.js';
export {
  type EncodeInferResponseOptions,
  type EncodedInferResponse,
  type InferResponse,
  encodeInferResponse,
} from './infer-response.encoder.js';
export { checkInputAgainstSignature, checkInputsAgainstSignature } from './signature.check.js';
export { type OrtFeed, fromOrtOutput, toOrtFeeds } from './ort-tensor.mapper.js';
export { concatTensors, splitTensor } from './tensor-batching.js';
export {
  type DecodePredictOptions,
  type EncodedPredictResponse,
  type PredictFormat,
  type PredictRequest,
  decodePredictRequest,
  encodePredictResponse,
} from './predict.codec.js';
export {
  MAX_ROUND_DECIMALS,
  MAX_TOP_K,
  type OutputPolicy,
  TOP_K_INDICES_SUFFIX,
  applyOutputPolicy,
  isFloatingDatatype,
  isWithheldOutput,
  outputPolicyFrom,
  outputPolicyProblem,
} from './output-policy.js';
