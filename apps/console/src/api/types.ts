// The shapes the gateway answers with: the SDK's types, generated from docs/openapi.json.
import type { Dataset } from '@maas/sdk';

export type {
  AdminTrainingJob,
  ApiKey,
  AuditEntry,
  Dataset,
  DecisionTree,
  Model,
  ModelVersion,
  Page,
  Quotas,
  /** A tenant's own limits and what counts against each now (`GET /api/quotas`). */
  TenantQuotaUsage as QuotaUsage,
  Tenant,
  TensorSpec,
  TrainingJob,
  TreeNode,
  Usage,
  User as TenantUser,
  InferenceWorker as Worker,
} from '@maas/sdk';

/** A column of an uploaded dataset: its name, type and profile. */
export type DatasetColumn = Dataset['columns'][number];

export const API_KEY_SCOPES = ['infer', 'models:read', 'models:write', 'train', 'usage:read'];
export const PLANS = ['free', 'standard', 'enterprise'];
export const TRAINING_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'];
