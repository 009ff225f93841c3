// Storage
export type { ObjectStore, PutOptions, PutResult } from './storage/object-store.js';
export { FsObjectStore } from './storage/fs-object-store.js';
export { S3ObjectStore, type S3ObjectStoreOptions } from './storage/s3-object-store.js';
export { createObjectStore, type ObjectStoreConfig } from './storage/create-object-store.js';
export {
  InvalidObjectKeyError,
  ObjectNotFoundError,
  PayloadTooLargeError,
} from './storage/storage-errors.js';
export { assertValidObjectKey } from './storage/object-key.js';
export {
  datasetKey,
  modelArtifactKey,
  modelPrefix,
  modelVersionPrefix,
  tenantPrefix,
} from './storage/storage-keys.js';

// Validation
export {
  type OnnxModelSignature,
  type OpsetSpec,
  type TensorSpec,
  inspectOnnxModel,
} from './validation/onnx-inspector.js';
export {
  ALLOWED_OPERATOR_DOMAINS,
  assertSelfContainedOnnx,
} from './validation/onnx-sandbox-check.js';
export {
  emptyExternalDataDirectory,
  ortSandboxSessionConfig,
} from './validation/ort-sandbox-options.js';
export { type OrtSessionTuning, ortSessionOptions } from './validation/ort-session-options.js';
export {
  type OutputAgreement,
  type OutputAgreementOptions,
  type OutputComparison,
  generatedFeeds,
  generatedInputs,
  medianRunMs,
  measureOutputAgreement,
} from './validation/output-agreement.js';
export { MODEL_NAME_PATTERN, assertValidModelName } from './validation/model-name.js';
export { parseVersionNumber } from './validation/version-number.js';
export {
  inspectTfjsArchive,
  readTfjsArchive,
  tfjsArchiveKind,
  type TfjsArchive,
  type TfjsArchiveKind,
  type TfjsModelSignature,
  type TfjsWeightSpec,
} from './validation/tfjs-archive.js';
export {
  InvalidArgumentError,
  InvalidModelError,
  ValidationLimitError,
} from './validation/validation-errors.js';
export {
  DEFAULT_UPLOAD_UNPACK_LIMITS,
  HARD_MAX_UNPACKED_BYTES,
  type UnpackLimits,
} from './validation/archive-unpacker.js';
export {
  DEFAULT_VALIDATION_OPTIONS,
  ValidationSandbox,
  type ModelSignature,
  type ValidationOutcome,
  type ValidationSandboxOptions,
} from './validation/validation-sandbox.js';
// Registry (models, versions, labels) — maintained by the lead.
export { ModelRegistryModule, type ModelRegistryKeys } from './registry/model-registry.module.js';
export {
  MODEL_UPLOAD_OPTIONS,
  OBJECT_STORE,
  TENANT_DATA_KEYS,
} from './registry/registry.tokens.js';
export { ModelsService } from './registry/models.service.js';
export { ModelVersionsService, type ServingConfig } from './registry/model-versions.service.js';
export {
  VersionUploadsService,
  type ModelFormatName,
  type ModelUploadOptions,
  type VersionUpload,
} from './registry/version-uploads.service.js';
export {
  labelView,
  VersionLabelsService,
  type LabelTargets,
  type LabelView,
} from './registry/version-labels.service.js';
export {
  pickServableVersion,
  pickVersion,
  VersionResolutionService,
  type ResolvedVersion,
  type VersionCandidates,
  type VersionSelector,
} from './registry/version-resolution.service.js';
export { StorageQuotaService } from './registry/storage-quota.service.js';
export { RegistryMaintenanceService } from './registry/registry-maintenance.service.js';
export {
  modelNotFound,
  RegistryError,
  versionNotFound,
  versionQuarantined,
} from './registry/registry.errors.js';
export {
  VersionArtifactsService,
  type ArtifactDownload,
  type ArtifactFormat,
  type TfjsCopyFiles,
} from './registry/version-artifacts.service.js';
export { modelView, versionView } from './registry/version-view.js';
export {
  ArtifactIntegrityError,
  ArtifactUnavailableError,
  ArtifactReader,
  type StoredArtifact,
} from './integrity/artifact-reader.js';
export {
  THREAD_GC_HELPER,
  ownsItsBuffer,
  transferableBuffer,
  UnsealThread,
  unsealThread,
  type Unsealed,
} from './integrity/unseal-thread.js';
export {
  batchesOf,
  joinedBuffer,
  LOWER_THIS_THREAD_PRIORITY,
  lowerThreadPriority,
  ThreadCalls,
} from './integrity/thread-calls.js';
export {
  SEAL_BATCH_BYTES,
  SealThread,
  sealThread,
  type SealedStream,
} from './integrity/seal-thread.js';
export {
  DecryptionError,
  ENCRYPTION_OVERHEAD,
  decryptBuffer,
  encryptBuffer,
  encryptStream,
  type MasterKey,
} from './integrity/envelope.js';
export {
  MasterKeyUnavailableError,
  rotateMasterKey,
  TenantDataKeys,
  type RotationResult,
} from './integrity/tenant-data-keys.js';
