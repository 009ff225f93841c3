// The shapes the gateway answers with (docs/openapi.json), as far as the console reads them.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface TensorSpec {
  name: string;
  datatype: string;
  shape: number[];
}

export interface Model {
  id: string;
  name: string;
  description: string | null;
  metadata: unknown;
  labels?: Record<string, { versions: Record<string, number> }>;
  createdAt: string;
  updatedAt: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  status: string;
  statusReason: string | null;
  format: string;
  sha256: string | null;
  sizeBytes: number | null;
  encrypted: boolean;
  inputs: TensorSpec[] | null;
  outputs: TensorSpec[] | null;
  metrics: Record<string, unknown> | null;
  trainingJobId: string | null;
  createdBy: string | null;
  createdAt: string;
}

export interface DatasetColumn {
  name: string;
  type: string;
  [profile: string]: unknown;
}

export interface Dataset {
  id: string;
  name: string;
  rows: number;
  columns: DatasetColumn[];
  sizeBytes: number;
  sha256: string;
  createdAt: string;
}

export interface TrainingJob {
  id: string;
  status: string;
  datasetId: string;
  modelName: string;
  algorithm: string;
  task: string;
  target: string;
  features: string[];
  hyperparameters: Record<string, unknown>;
  progress: Record<string, number | string> | null;
  metrics: Record<string, unknown> | null;
  backend: string | null;
  modelVersion: { model: string; version: number } | null;
  error?: string;
  attempts: number;
  trainingSeconds: number;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface AdminTrainingJob {
  id: string;
  tenantId: string;
  tenantName: string;
  modelName: string;
  algorithm: string;
  task: string;
  status: string;
  progress: Record<string, number | string> | null;
  backend: string | null;
  error: string | null;
  attempts: number;
  trainingSeconds: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Usage {
  from: string;
  to: string;
  totals: { requests: number; rows: number; errors: number };
  items: { key: string; requests: number; rows: number; errors: number; avgLatencyMs: number }[];
}

export interface Tenant {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  plan: string;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  scopes: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export interface TenantUser {
  id: string;
  email: string;
  role: 'owner' | 'developer' | 'viewer';
  tenantId: string;
  lastLoginAt: string | null;
  createdAt: string;
}

export type Limits = Record<string, number | null>;

export interface Quotas {
  plan: string;
  overrides: Limits;
  effective: Limits;
}

/** A tenant's own limits and what counts against each now (`GET /api/quotas`). */
export interface QuotaUsage {
  plan: string;
  /** The calendar month (UTC) monthly limits count, YYYY-MM. */
  month: string;
  effective: Limits;
  used: Record<string, number>;
}

export interface AuditEntry {
  id: string;
  at: string;
  actorType: string;
  actorId: string | null;
  tenantId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  requestId: string | null;
  details: unknown;
}

export interface Worker {
  id: string;
  url?: string;
  capacity?: number;
  inFlight?: number;
  backends?: string[];
  startedAt?: string | number;
  heartbeatAt?: string | number;
  loadedVersions: {
    versionId: string;
    tenantId: string;
    model: string;
    version: number;
    format: string;
  }[];
}

export const API_KEY_SCOPES = ['infer', 'models:read', 'models:write', 'train', 'usage:read'];
export const PLANS = ['free', 'standard', 'enterprise'];
export const TRAINING_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'];
