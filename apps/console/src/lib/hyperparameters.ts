// The hyperparameters the training form offers, per algorithm: the same names, choices, ranges
// and defaults as the trainer's job spec (libs/training/src/job-spec/job-spec.ts), which a
// spec beside this file checks, so the form and the server cannot drift apart. The console
// imports no server code: it is a browser bundle.

export type FieldKind = 'int' | 'number' | 'choice' | 'intList';

export interface HyperparameterField {
  name: string;
  label: string;
  kind: FieldKind;
  help: string;
  /** The trainer's default; undefined: chosen by the trainer from other settings. */
  defaultValue?: number | string | number[];
  choices?: readonly string[];
  min?: number;
  max?: number;
  step?: number;
  /** Shown only for this task. */
  task?: 'classification' | 'regression';
}

const common: HyperparameterField[] = [
  {
    name: 'testSplit',
    label: 'Test split',
    kind: 'number',
    help: 'Fraction of rows held out for the metrics; 0 trains on every row (metrics then on training rows).',
    defaultValue: 0.2,
    min: 0,
    max: 0.5,
    step: 0.05,
  },
  {
    name: 'seed',
    label: 'Seed',
    kind: 'int',
    help: 'Random seed for the splits and initial weights.',
    defaultValue: 42,
    min: 0,
    max: 2 ** 31 - 1,
    step: 1,
  },
];

export const MLP_FIELDS: HyperparameterField[] = [
  {
    name: 'hiddenLayers',
    label: 'Hidden layers',
    kind: 'intList',
    help: 'Units per hidden layer, comma-separated (e.g. 32, 16).',
    defaultValue: [32],
  },
  {
    name: 'activation',
    label: 'Activation',
    kind: 'choice',
    help: 'Activation of the hidden layers.',
    defaultValue: 'relu',
    choices: ['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'softplus', 'linear'],
  },
  {
    name: 'dropout',
    label: 'Dropout',
    kind: 'number',
    help: 'Fraction of units dropped while training.',
    defaultValue: 0,
    min: 0,
    max: 0.9,
    step: 0.05,
  },
  {
    name: 'optimizer',
    label: 'Optimizer',
    kind: 'choice',
    help: 'Gradient descent method.',
    defaultValue: 'adam',
    choices: ['adam', 'sgd', 'rmsprop', 'adagrad'],
  },
  {
    name: 'learningRate',
    label: 'Learning rate',
    kind: 'number',
    help: 'Step size of the optimizer.',
    defaultValue: 0.01,
    min: 0.000001,
    max: 10,
    step: 0.001,
  },
  {
    name: 'epochs',
    label: 'Epochs',
    kind: 'int',
    help: 'Passes over the training rows.',
    defaultValue: 50,
    min: 1,
    max: 10000,
    step: 1,
  },
  {
    name: 'batchSize',
    label: 'Batch size',
    kind: 'int',
    help: 'Rows per gradient step.',
    defaultValue: 32,
    min: 1,
    max: 65536,
    step: 1,
  },
  {
    name: 'validationSplit',
    label: 'Validation split',
    kind: 'number',
    help: 'Fraction of training rows watched for the validation curve and early stopping.',
    defaultValue: 0.1,
    min: 0,
    max: 0.5,
    step: 0.05,
  },
  {
    name: 'earlyStoppingPatience',
    label: 'Early-stopping patience',
    kind: 'int',
    help: 'Epochs without validation-loss improvement before stopping (0: never).',
    defaultValue: 0,
    min: 0,
    max: 10000,
    step: 1,
  },
  {
    name: 'targetLoss',
    label: 'Target loss',
    kind: 'number',
    help: 'Stop once the watched loss is at or below this (empty: no target).',
    min: 0.000001,
    max: 1e6,
    step: 0.001,
  },
  ...common,
];

export const TREE_FIELDS: HyperparameterField[] = [
  {
    name: 'variant',
    label: 'Variant',
    kind: 'choice',
    help: 'ID3 and C4.5 (classification, multiway splits) or CART (binary). Empty: C4.5 for classification, CART for regression.',
    choices: ['id3', 'c4.5', 'cart'],
  },
  {
    name: 'criterion',
    label: 'Criterion',
    kind: 'choice',
    help: 'Split criterion. Empty: the variant’s own (gain ratio for C4.5, Gini or variance for CART).',
    choices: ['gainRatio', 'gini', 'entropy', 'variance'],
  },
  {
    name: 'maxDepth',
    label: 'Max depth',
    kind: 'int',
    help: 'Deepest level a split may sit at.',
    defaultValue: 16,
    min: 1,
    max: 64,
    step: 1,
  },
  {
    name: 'minSamplesLeaf',
    label: 'Min samples per leaf',
    kind: 'int',
    help: 'Fewest training rows a leaf may hold.',
    defaultValue: 1,
    min: 1,
    max: 1_000_000,
    step: 1,
  },
  {
    name: 'minGain',
    label: 'Min gain',
    kind: 'number',
    help: 'A node splits only when the criterion improves by more than this (pre-pruning).',
    defaultValue: 0,
    min: 0,
    step: 0.01,
  },
  {
    name: 'pruning',
    label: 'Pruning',
    kind: 'choice',
    help: 'Post-pruning. Empty: pessimistic for C4.5, cost-complexity for CART, none for ID3.',
    choices: ['pessimistic', 'costComplexity', 'reducedError', 'none'],
  },
  {
    name: 'confidenceFactor',
    label: 'Confidence factor',
    kind: 'number',
    help: 'Pessimistic pruning’s confidence (smaller prunes more).',
    defaultValue: 0.25,
    min: 0.001,
    max: 0.5,
    step: 0.05,
  },
  {
    name: 'ccpAlpha',
    label: 'Cost-complexity alpha',
    kind: 'number',
    help: 'Cost-complexity pruning strength. Empty: chosen by 10-fold cross-validation.',
    min: 0,
    step: 0.001,
  },
  {
    name: 'validationSplit',
    label: 'Pruning split',
    kind: 'number',
    help: 'Reduced-error pruning: fraction of training rows held out to prune on.',
    defaultValue: 0.25,
    min: 0.1,
    max: 0.5,
    step: 0.05,
  },
  ...common,
];

export const ALGORITHMS = [
  { id: 'mlp', label: 'Neural network (MLP)', fields: MLP_FIELDS },
  { id: 'decision_tree', label: 'Decision tree', fields: TREE_FIELDS },
] as const;

export type AlgorithmId = (typeof ALGORITHMS)[number]['id'];

/** The form's text for a field's default ('' when the trainer chooses). */
export function defaultText(field: HyperparameterField): string {
  const value = field.defaultValue;
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * The hyperparameters object to send: only the fields the user changed from their defaults
 * (empty means "the trainer's choice"), parsed to numbers; a message for each field that
 * cannot be parsed or is out of range.
 */
export function hyperparametersFrom(
  fields: readonly HyperparameterField[],
  values: Record<string, string>,
): { hyperparameters: Record<string, unknown>; errors: Record<string, string> } {
  const hyperparameters: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = (values[field.name] ?? defaultText(field)).trim();
    if (text === '' || text === defaultText(field)) continue;
    if (field.kind === 'choice') {
      if (!field.choices?.includes(text)) errors[field.name] = 'not one of the choices';
      else hyperparameters[field.name] = text;
      continue;
    }
    if (field.kind === 'intList') {
      const parts = text.split(/[\s,]+/).filter(Boolean);
      const units = parts.map(Number);
      if (units.length === 0 || units.some((u) => !Number.isInteger(u) || u < 1 || u > 4096)) {
        errors[field.name] = 'whole numbers from 1 to 4096, comma-separated';
      } else hyperparameters[field.name] = units;
      continue;
    }
    const value = Number(text);
    if (!Number.isFinite(value)) errors[field.name] = 'not a number';
    else if (field.kind === 'int' && !Number.isInteger(value))
      errors[field.name] = 'a whole number';
    else if (field.min !== undefined && value < field.min)
      errors[field.name] = `at least ${field.min}`;
    else if (field.max !== undefined && value > field.max)
      errors[field.name] = `at most ${field.max}`;
    else hyperparameters[field.name] = value;
  }
  return { hyperparameters, errors };
}
