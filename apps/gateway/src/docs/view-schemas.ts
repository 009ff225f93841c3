import type { TreeDescription, TreeNodeDescription } from '@maas/training';
import { z } from 'zod';
import { instant } from './route-spec.js';

/**
 * The JSON shapes the /api routes answer with (the `*View` functions beside each service), for
 * the API reference. Loose where the value is the caller's own (metadata, hyperparameters).
 */
const json = z.unknown();
/** A JSON object whose fields are the caller's or the trainer's (metrics, hyperparameters). */
export const JsonObject = z.record(z.string(), json);

export const TokenPair = z
  .object({ accessToken: z.string(), refreshToken: z.string(), expiresIn: z.number().optional() })
  .meta({ id: 'TokenPair' });

export const TenantView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    status: z.enum(['active', 'suspended']),
    plan: z.string(),
    createdAt: instant,
    updatedAt: instant,
  })
  .meta({ id: 'Tenant' });

export const ApiKeyView = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.string()),
    expiresAt: instant.nullable(),
    revokedAt: instant.nullable(),
    lastUsedAt: instant.nullable(),
    createdAt: instant,
  })
  .meta({ id: 'ApiKey' });

export const ApiKeyCreatedView = ApiKeyView.extend({
  key: z.string().describe('The secret: shown in this answer only'),
}).meta({ id: 'ApiKeyCreated' });

export const UserView = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: z.enum(['owner', 'developer', 'viewer']),
    tenantId: z.uuid(),
    lastLoginAt: instant.nullable(),
    createdAt: instant,
  })
  .meta({ id: 'User' });

/** Limits by name; null: none. */
export const Limits = z.record(z.string(), z.number().nullable());
export const QuotasView = z
  .object({ plan: z.string(), overrides: Limits, effective: Limits })
  .meta({ id: 'Quotas' });

export const TensorSpecView = z
  .object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) })
  .meta({ id: 'TensorSpec' });

export const ModelView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    metadata: json,
    labels: z
      .record(z.string(), z.object({ versions: z.record(z.string(), z.number()) }))
      .optional()
      .describe('label → {versions: {"3": 90, "4": 10}} (traffic split in percent)'),
    createdAt: instant,
    updatedAt: instant,
  })
  .meta({ id: 'Model' });

export const VersionView = z
  .object({
    model: z.string(),
    version: z.number().int(),
    status: z
      .string()
      .describe('uploading | validating | ready | failed | corrupt | quarantined | archived'),
    statusReason: z.string().nullable(),
    format: z.string(),
    sha256: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    encrypted: z.boolean(),
    tfjs: z.object({ sha256: z.string(), sizeBytes: z.number() }).nullable(),
    inputs: z.array(TensorSpecView).nullable(),
    outputs: z.array(TensorSpecView).nullable(),
    servingConfig: json,
    metrics: JsonObject.nullable(),
    trainingJobId: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: instant,
    updatedAt: instant,
  })
  .meta({ id: 'ModelVersion' });

export const LabelView = z
  .object({ name: z.string(), versions: z.record(z.string(), z.number()) })
  .loose()
  .meta({ id: 'Label' });

export const DatasetView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    rows: z.number().int(),
    columns: z.array(z.object({ name: z.string(), type: z.string() }).loose()),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    createdAt: instant,
  })
  .meta({ id: 'Dataset' });

/** What a job reached last: an MLP's epoch and losses, or a tree's or an optimisation's stage. */
const TrainingProgressView = z
  .record(z.string(), z.union([z.number(), z.string()]))
  .meta({ id: 'TrainingProgress' });

export const TrainingJobView = z
  .object({
    id: z.uuid(),
    status: z.string(),
    datasetId: z.uuid().nullable(),
    modelName: z.string(),
    algorithm: z.string(),
    task: z.string(),
    target: z.string(),
    features: z.array(z.string()),
    hyperparameters: JsonObject,
    progress: TrainingProgressView.nullable(),
    metrics: JsonObject.nullable(),
    backend: z.string().nullable(),
    modelVersion: z.object({ model: z.string(), version: z.number().int() }).nullable(),
    error: z.string().optional(),
    attempts: z.number().int(),
    trainingSeconds: z.number(),
    cancelRequested: z.boolean(),
    createdAt: instant,
    startedAt: instant.nullable(),
    finishedAt: instant.nullable(),
  })
  .meta({ id: 'TrainingJob' });

export const AdminTrainingJobView = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    tenantName: z.string(),
    modelName: z.string(),
    algorithm: z.string(),
    task: z.string(),
    status: z.string(),
    progress: TrainingProgressView.nullable(),
    backend: z.string().nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    trainingSeconds: z.number(),
    createdAt: instant,
    startedAt: instant.nullable(),
    finishedAt: instant.nullable(),
  })
  .meta({ id: 'AdminTrainingJob' });

const nullableText = z.string().nullable();
export const AuditEntryView = z
  .object({
    id: z.string(),
    at: instant,
    actorType: z.string(),
    actorId: nullableText,
    tenantId: nullableText,
    action: z.string(),
    targetType: nullableText,
    targetId: nullableText,
    ip: nullableText,
    requestId: nullableText,
    details: json,
  })
  .meta({ id: 'AuditEntry' });

const counts = { requests: z.number().int(), rows: z.number().int(), errors: z.number().int() };
export const UsageView = z
  .object({
    from: instant,
    to: instant,
    totals: z.object(counts),
    items: z.array(
      z.object({
        key: z.string().describe('the day, model, key or tenant this row groups'),
        ...counts,
        avgLatencyMs: z.number(),
      }),
    ),
  })
  .meta({ id: 'Usage' });

export const WorkerView = z
  .object({
    id: z.string(),
    url: z.string(),
    capacity: z.number().int(),
    inFlight: z.number().int(),
    backends: z.array(z.string()),
    startedAt: instant,
    heartbeatAt: instant,
    loadedVersions: z.array(
      z.object({
        versionId: z.uuid(),
        tenantId: z.uuid(),
        model: z.string(),
        version: z.number().int(),
        format: z.string(),
      }),
    ),
  })
  .meta({ id: 'InferenceWorker' });

const TreeSplitView = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('threshold'), threshold: z.number() }),
  z.object({ kind: z.literal('categories'), categories: z.array(z.string()) }),
  z.object({ kind: z.literal('category'), category: z.string() }),
]);
const classWeights = z
  .record(z.string(), z.number())
  .optional()
  .describe('classification: the weight of each class among the training rows here');
const treeCriterion = z.enum([
  'informationGain',
  'gainRatio',
  'giniDecrease',
  'entropyDecrease',
  'varianceDecrease',
]);
/** A node of a trained tree: a leaf's prediction, or a split and its branches (recursive). */
export const TreeNodeView: z.ZodType<TreeNodeDescription> = z
  .lazy(() =>
    z.union([
      z.object({
        type: z.literal('leaf'),
        samples: z.number(),
        prediction: z.union([z.string(), z.number()]),
        distribution: classWeights,
      }),
      z.object({
        type: z.literal('split'),
        feature: z.string(),
        split: TreeSplitView,
        criterion: z.object({ name: treeCriterion, value: z.number() }),
        samples: z.number(),
        distribution: classWeights,
        branches: z.array(z.object({ condition: z.string(), node: TreeNodeView })),
      }),
    ]),
  )
  .meta({ id: 'TreeNode' });

export const DecisionTreeView: z.ZodType<TreeDescription> = z
  .object({
    variant: z.enum(['id3', 'c4.5', 'cart']),
    task: z.enum(['classification', 'regression']),
    criterion: treeCriterion,
    pruning: z.string(),
    leaves: z.number().int(),
    depth: z.number().int(),
    root: TreeNodeView,
    rules: z.array(z.string()).describe('one per leaf: IF outlook = sunny AND … THEN no'),
  })
  .meta({ id: 'DecisionTree' });
