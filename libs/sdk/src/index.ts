export { MaasClient, type MaasClientOptions } from './client.js';
export {
  MaasApiError,
  MaasNetworkError,
  parseRetryAfterSeconds,
  type ProblemDetails,
} from './errors.js';
export {
  type Credential,
  type FetchLike,
  newRequestId,
  type RawRequest,
  type ResponseEvent,
  type RetryEvent,
  Transport,
  type TransportOptions,
  type WireBody,
} from './http/transport.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from './http/retry.js';
export { readSse, SseParser, type SseMessage } from './http/sse.js';
export type {
  ApiPath,
  ApiRequest,
  CallOptions,
  HttpMethod,
  Operation,
  SuccessJson,
} from './http/typed-paths.js';
export type { UploadProgress, UploadSource } from './http/upload.js';
export { Admin, AdminKeys, AdminQuotas, AdminTenants, AdminUsers } from './resources/admin.js';
export { Auth } from './resources/auth.js';
export { type DatasetUploadOptions, Datasets } from './resources/datasets.js';
export {
  Inference,
  type InferInputs,
  type InferOptions,
  type InferResult,
  type V1Target,
} from './resources/inference.js';
export { everyPage, Models, ModelVersions, type UploadOptions } from './resources/models.js';
export {
  Training,
  type TrainingEvent,
  type TrainingEventsOptions,
  type TrainingProgressData,
  type TrainingStateData,
  type TrainingWaitOptions,
} from './resources/training.js';
export { toInstant, UsageApi, type UsageRange } from './resources/usage.js';
export {
  type ArrayConstructorOf,
  DATATYPES,
  type Datatype,
  decodeInferResponse,
  encodeBinaryInferRequest,
  encodeJsonInferRequest,
  type NumericArray,
  type OutputDataByDatatype,
  plainValues,
  type TensorInput,
  type TensorInputData,
  type TensorOutput,
  type TensorParameters,
  typedArrayFor,
} from './tensors/tensor-codec.js';
export { fromFloat16Bits, toFloat16Bits } from './tensors/float16.js';
export { formatBytes } from './format.js';
export type * from './types.js';
export type { components, operations, paths } from './generated/openapi.js';
