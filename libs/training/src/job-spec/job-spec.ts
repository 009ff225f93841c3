import { z } from 'zod';
import type { ColumnSummary } from '../data/csv-reader.js';

/** A training request that cannot work on its dataset (maps to HTTP 400). */
export class TrainingSpecError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'TrainingSpecError';
  }
}

export const ALGORITHMS = ['mlp', 'decision_tree'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
export const TASKS = ['classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];

const common = {
  /**
   * Fraction of rows held out for the metrics recorded on the version; 0 trains on every row
   * (small textbook data sets) and the metrics are then training-set metrics.
   */
  testSplit: z
    .number()
    .min(0)
    .max(0.5)
    .refine((v) => v === 0 || v >= 0.05, { message: 'must be 0 or between 0.05 and 0.5' })
    .default(0.2),
  seed: z
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(42),
};

export const MLP_ACTIVATIONS = [
  'relu',
  'tanh',
  'sigmoid',
  'elu',
  'selu',
  'softplus',
  'linear',
] as const;
export type MlpActivationName = (typeof MLP_ACTIVATIONS)[number];

export const mlpHyperparametersSchema = z.strictObject({
  hiddenLayers: z.array(z.int().min(1).max(4096)).max(16).default([32]),
  activation: z.enum(MLP_ACTIVATIONS).default('relu'),
  dropout: z.number().min(0).max(0.9).default(0),
  optimizer: z.enum(['adam', 'sgd', 'rmsprop', 'adagrad']).default('adam'),
  learningRate: z.number().gt(0).max(10).default(0.01),
  epochs: z.int().min(1).max(10000).default(50),
  batchSize: z.int().min(1).max(65536).default(32),
  /** Fraction of the training rows watched for early stopping and progress (0: none). */
  validationSplit: z.number().min(0).max(0.5).default(0.1),
  /** Epochs without validation-loss improvement before stopping (0: never stop early). */
  earlyStoppingPatience: z.int().min(0).max(10000).default(0),
  /**
   * Stop once an epoch's validation loss (training loss without a validation split) is at or
   * below this, in the units the progress reports it (regression: MSE on standardised targets).
   */
  targetLoss: z.number().gt(0).max(1e6).optional(),
  ...common,
});
export type MlpHyperparameters = z.infer<typeof mlpHyperparametersSchema>;

export const TREE_VARIANTS = ['id3', 'c4.5', 'cart'] as const;
export type TreeVariant = (typeof TREE_VARIANTS)[number];
export const TREE_CRITERIA = ['gainRatio', 'gini', 'entropy', 'variance'] as const;
export type TreeCriterion = (typeof TREE_CRITERIA)[number];
export const TREE_PRUNING = ['pessimistic', 'costComplexity', 'reducedError', 'none'] as const;
export type TreePruning = (typeof TREE_PRUNING)[number];

export const treeHyperparametersSchema = z.strictObject({
  /** id3, c4.5 (multiway, classification) or cart (binary); see parseHyperparameters. */
  variant: z.enum(TREE_VARIANTS).optional(),
  criterion: z.enum(TREE_CRITERIA).optional(),
  maxDepth: z.int().min(1).max(64).default(16),
  minSamplesLeaf: z.int().min(1).max(1_000_000).default(1),
  /** Pre-pruning: a node splits only when the split's criterion value exceeds this. */
  minGain: z.number().min(0).default(0),
  pruning: z.enum(TREE_PRUNING).optional(),
  /** C4.5 confidence factor for pessimistic pruning (smaller prunes more). */
  confidenceFactor: z.number().gt(0).max(0.5).default(0.25),
  /** Cost-complexity parameter; chosen by 10-fold cross-validation when absent. */
  ccpAlpha: z.number().min(0).optional(),
  /** Reduced-error pruning: fraction of the training rows held out to prune on. */
  validationSplit: z.number().min(0.1).max(0.5).default(0.25),
  ...common,
});
export type TreeHyperparametersInput = z.infer<typeof treeHyperparametersSchema>;
export type TreeHyperparameters = TreeHyperparametersInput & {
  variant: TreeVariant;
  criterion: TreeCriterion;
  pruning: TreePruning;
};

export const trainingRequestSchema = z.strictObject({
  datasetId: z.uuid(),
  target: z.string().min(1).max(256),
  features: z.array(z.string().min(1).max(256)).min(1).max(10_000).optional(),
  algorithm: z.enum(ALGORITHMS),
  task: z.enum(TASKS),
  hyperparameters: z.record(z.string(), z.unknown()).default({}),
  modelName: z.string().min(1).max(63),
});
export type TrainingRequest = z.infer<typeof trainingRequestSchema>;

export type Hyperparameters = MlpHyperparameters | TreeHyperparameters;

/** What the trainer runs: columns resolved, defaults filled in. */
export interface TrainingPlan {
  algorithm: Algorithm;
  task: Task;
  target: string;
  features: string[];
  hyperparameters: Hyperparameters;
}

/** Most classes a classifier is trained for; a numeric target with more is continuous. */
export const MAX_CLASSES = 100;

function formatZodError(prefix: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      return `${prefix}${path ? `.${path}` : ''}: ${issue.message}`;
    })
    .join('; ');
}

export function parseHyperparameters(
  algorithm: Algorithm,
  task: Task,
  raw: unknown,
): Hyperparameters {
  if (algorithm === 'mlp') {
    const parsed = mlpHyperparametersSchema.safeParse(raw ?? {});
    if (!parsed.success)
      throw new TrainingSpecError(formatZodError('hyperparameters', parsed.error));
    return parsed.data;
  }
  const parsed = treeHyperparametersSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new TrainingSpecError(formatZodError('hyperparameters', parsed.error));
  const given = parsed.data;
  // Without a variant, a criterion says which family it belongs to (specs from before variants).
  const variant: TreeVariant =
    given.variant ??
    (given.criterion === 'gainRatio'
      ? 'c4.5'
      : given.criterion !== undefined || task === 'regression'
        ? 'cart'
        : 'c4.5');
  if (task === 'regression' && variant !== 'cart') {
    throw new TrainingSpecError(
      `hyperparameters.variant: '${variant}' grows classification trees; regression trees use 'cart'`,
    );
  }
  const criterion: TreeCriterion =
    given.criterion ??
    (variant === 'id3'
      ? 'entropy'
      : variant === 'c4.5'
        ? 'gainRatio'
        : task === 'classification'
          ? 'gini'
          : 'variance');
  const allowed: Record<TreeVariant, readonly TreeCriterion[]> = {
    id3: ['entropy'],
    'c4.5': ['gainRatio'],
    cart: task === 'classification' ? ['gini', 'entropy'] : ['variance'],
  };
  if (!allowed[variant].includes(criterion)) {
    throw new TrainingSpecError(
      `hyperparameters.criterion: '${criterion}' does not go with variant '${variant}' for ${task} (use ${allowed[variant].map((c) => `'${c}'`).join(' or ')})`,
    );
  }
  const pruning: TreePruning =
    given.pruning ??
    (variant === 'id3' ? 'none' : variant === 'c4.5' ? 'pessimistic' : 'costComplexity');
  if (pruning === 'pessimistic' && task === 'regression') {
    throw new TrainingSpecError(
      "hyperparameters.pruning: 'pessimistic' (C4.5) prunes classification trees; use 'costComplexity' or 'reducedError'",
    );
  }
  if (pruning === 'costComplexity' && variant !== 'cart') {
    throw new TrainingSpecError(
      `hyperparameters.pruning: 'costComplexity' prunes CART's binary trees; variant '${variant}' takes 'pessimistic', 'reducedError' or 'none'`,
    );
  }
  return { ...given, variant, criterion, pruning };
}

/**
 * Checks a request against the dataset's columns before anything is queued: the columns exist,
 * the target suits the task, the hyperparameters are in range.
 */
export function planTraining(
  request: Omit<TrainingRequest, 'datasetId' | 'modelName'>,
  columns: readonly ColumnSummary[],
): TrainingPlan {
  const byName = new Map(columns.map((column) => [column.name, column]));
  const target = byName.get(request.target);
  if (!target) {
    throw new TrainingSpecError(
      `target '${request.target}' is not a column of the dataset (columns: ${columns.map((c) => c.name).join(', ')})`,
    );
  }
  const features = request.features ?? columns.map((c) => c.name).filter((n) => n !== target.name);
  if (features.length === 0) throw new TrainingSpecError('the dataset has no feature columns');
  const seen = new Set<string>();
  for (const feature of features) {
    if (!byName.has(feature)) {
      throw new TrainingSpecError(`feature '${feature}' is not a column of the dataset`);
    }
    if (feature === target.name) {
      throw new TrainingSpecError(`column '${feature}' cannot be both the target and a feature`);
    }
    if (seen.has(feature)) throw new TrainingSpecError(`feature '${feature}' is listed twice`);
    seen.add(feature);
  }
  if (request.task === 'regression' && target.type !== 'numeric') {
    throw new TrainingSpecError(
      `target '${target.name}' is categorical; regression needs a numeric target (use task 'classification')`,
    );
  }
  if (request.task === 'classification') {
    if (target.type === 'numeric' && !target.integer) {
      throw new TrainingSpecError(
        `target '${target.name}' holds continuous numbers; classification needs class labels (use task 'regression')`,
      );
    }
    if (target.distinct > MAX_CLASSES) {
      throw new TrainingSpecError(
        `target '${target.name}' has more than ${MAX_CLASSES} distinct values; too many classes`,
      );
    }
    if (target.distinct < 2) {
      throw new TrainingSpecError(`target '${target.name}' has fewer than two classes`);
    }
  }
  return {
    algorithm: request.algorithm,
    task: request.task,
    target: target.name,
    features,
    hyperparameters: parseHyperparameters(request.algorithm, request.task, request.hyperparameters),
  };
}
