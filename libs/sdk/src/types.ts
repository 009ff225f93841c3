import type { components, operations } from './generated/openapi.js';

type Schemas = components['schemas'];

/** The JSON body route `O` takes. */
export type BodyOf<O extends keyof operations> = operations[O] extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : never;
/** The query route `O` takes. */
export type QueryOf<O extends keyof operations> = operations[O] extends {
  parameters: { query?: infer Q };
}
  ? Exclude<Q, undefined>
  : never;

export type Model = Schemas['Model'];
export type ModelVersion = Schemas['ModelVersion'];
export type TensorSpec = Schemas['TensorSpec'];
export type DecisionTree = Schemas['DecisionTree'];
export type TreeNode = Schemas['TreeNode'];
export type Label = Schemas['Label'];
export type Dataset = Schemas['Dataset'];
export type TrainingJob = Schemas['TrainingJob'];
export type TrainingProgress = Schemas['TrainingProgress'];
export type Usage = Schemas['Usage'];
export type Tenant = Schemas['Tenant'];
export type ApiKey = Schemas['ApiKey'];
export type ApiKeyCreated = Schemas['ApiKeyCreated'];
export type Quotas = Schemas['Quotas'];
export type TenantQuotaUsage = Schemas['TenantQuotaUsage'];
export type User = Schemas['User'];
export type TokenPair = Schemas['TokenPair'];
export type AuditEntry = Schemas['AuditEntry'];
export type AdminTrainingJob = Schemas['AdminTrainingJob'];
export type InferenceWorker = Schemas['InferenceWorker'];
export type ProblemDetailsBody = Schemas['ProblemDetails'];
export type V2ModelMetadata = Schemas['V2ModelMetadata'];
export type V2ServerMetadata = Schemas['V2ServerMetadata'];
export type V2InferenceRequest = Schemas['V2InferenceRequest'];
export type V2InferenceResponse = Schemas['V2InferenceResponse'];
export type TfServingPredictRequest = Schemas['TfServingPredictRequest'];
export type TfServingPredictResponse = Schemas['TfServingPredictResponse'];
export type TfServingModelStatus = Schemas['TfServingModelStatus'];
export type TfServingModelMetadata = Schemas['TfServingModelMetadata'];

export type ModelCreate = BodyOf<'postApiModels'>;
export type ModelUpdate = BodyOf<'patchApiModelsName'>;
export type VersionUpdate = BodyOf<'patchApiModelsNameVersionsVersion'>;
export type LabelTarget = BodyOf<'putApiModelsNameLabelsLabel'>;
export type TrainingJobCreate = BodyOf<'postApiTrainingJobs'>;
export type VersionOptimize = BodyOf<'postApiModelsNameVersionsVersionOptimize'>;
export type TenantUpdate = BodyOf<'patchApiAdminTenantsId'>;
export type ApiKeyCreate = BodyOf<'postApiAdminTenantsIdApiKeys'>;
export type QuotaLimits = BodyOf<'putApiAdminTenantsIdQuotas'>;
export type UserCreate = BodyOf<'postApiAdminTenantsIdUsers'>;
export type UsageQuery = QueryOf<'getApiUsage'>;
export type AdminUsageQuery = QueryOf<'getApiAdminUsage'>;
export type TrainingJobStatus = NonNullable<QueryOf<'getApiTrainingJobs'>['status']>;

/** A page of a list: pass `nextCursor` back as `cursor` for the next one (null at the end). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageQuery {
  cursor?: string;
  limit?: number;
}
