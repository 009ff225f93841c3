import * as ort from 'onnxruntime-node';
import { TrainingStoppedError } from '../training-stopped.js';
import { type CsvTable, parseNumber, readCsvTable } from '../data/csv-reader.js';
import { trainTestSplit } from '../data/split.js';
import { type ClassLabels, exportMlpToOnnx, exportTreeToOnnx } from '../export/onnx-export.js';
import {
  argmax,
  classificationMetrics,
  type ModelMetrics,
  regressionMetrics,
} from '../metrics/metrics.js';
import {
  type MlpBackendName,
  type MlpEngine,
  type MlpStopReason,
  mlpBackendName,
  saveTfjsArtifact,
  type TfjsArtifact,
  trainMlp,
} from '../mlp/mlp-trainer.js';
import { activateTfjsBackend, type TfjsBackendRequest } from '@maas/tfjs-runtime';
import { Preprocessor, type PreprocessorState } from '../preprocessing/preprocessor.js';
import type {
  MlpHyperparameters,
  TrainingPlan,
  TreeHyperparameters,
} from '../job-spec/job-spec.js';
import { type DecisionTree, predictTree, treeDataFrom } from '../tree/decision-tree.js';
import { attributeDataFrom, multiwayToBinary } from '../tree/multiway-encoding.js';
import {
  describeBinaryTree,
  describeMultiwayTree,
  type TreeDescription,
} from '../tree/tree-description.js';
import { trainDecisionTree, trainMultiwayTree, type TreeProgress } from '../tree/train-tree.js';

/** The data cannot train the requested model; retrying will not help. */
export class TrainingDataError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDataError';
  }
}

export { TrainingStoppedError };

export type TrainingProgress = Record<string, number | string>;

export interface TrainingHooks {
  onProgress?: (progress: TrainingProgress) => void | Promise<void>;
  onLog?: (message: string) => void;
  shouldStop?: () => boolean;
  /** MLP only: the TF.js backend (it holds the layers model whatever engine trains it). */
  backend?: TfjsBackendRequest;
  /** MLP only: what runs the training steps (default: chooseMlpEngine). */
  engine?: 'auto' | MlpEngine;
  /** MLP only, ONNX Runtime engine: intra-op threads (default: every core). */
  threads?: number;
}

export interface TrainingOutcome {
  onnx: Uint8Array;
  /**
   * evaluatedOn 'training': testSplit was 0 and the metrics are training-set metrics. MLP: the
   * epochs it ran and why it stopped.
   */
  metrics: ModelMetrics & {
    trainRows: number;
    evaluatedOn: 'test' | 'training';
    epochsRun?: number;
    stoppedBy?: MlpStopReason;
  };
  /** Decision trees: the tree as JSON and rules, stored with the version. */
  tree?: TreeDescription;
  /** MLP: what ran the training steps ('onnxruntime', or the TF.js backend). */
  backend: MlpBackendName | null;
  /** MLP: the TF.js layers model and how to feed it (it takes the encoded features). */
  tfjs?: TfjsArtifact & { preprocessing: PreprocessorState };
  /** Largest |trainer − ONNX Runtime| over the test rows' outputs. */
  onnxMaxAbsDiff: number;
  inputs: string[];
}

/** Outputs the trainer computed for rows, in the exported model's terms. */
interface TrainerOutputs {
  labels?: number[];
  probabilities?: Float32Array[];
  predictions?: number[];
}

/**
 * The whole job, independent of queues and databases: read the CSV, split, learn the
 * preprocessing on the training rows, train, export to ONNX, score on the held-out rows, and
 * check that ONNX Runtime computes what the trainer computed.
 */
export async function runTraining(
  csv: Buffer,
  plan: TrainingPlan,
  hooks: TrainingHooks = {},
): Promise<TrainingOutcome> {
  const table = await readCsvTable(csv);
  const { rows, targetIndex, featureRows, split, evaluated, onTrainingRows } = planRows(
    table,
    plan,
  );
  const summaries = new Map(table.summary.columns.map((c) => [c.name, c]));

  const targetSummary = summaries.get(plan.target)!;
  const classification = plan.task === 'classification';
  let labels: ClassLabels | null = null;
  let y: number[];
  if (classification) {
    const raw = [...new Set(rows.map((row) => row[targetIndex]))];
    if (raw.length < 2) throw new TrainingDataError(`target '${plan.target}' has one class only`);
    if (targetSummary.type === 'numeric' && targetSummary.integer) {
      const values = raw.map(Number).sort((a, b) => a - b);
      labels = { kind: 'int64', values };
      const position = new Map(values.map((v, i) => [v, i]));
      y = rows.map((row) => position.get(Number(row[targetIndex]))!);
    } else {
      const values = raw.sort();
      labels = { kind: 'string', values };
      const position = new Map(values.map((v, i) => [v, i]));
      y = rows.map((row) => position.get(row[targetIndex])!);
    }
  } else {
    y = rows.map((row) => {
      const value = parseNumber(row[targetIndex]);
      if (value === null) throw new TrainingDataError(`target '${plan.target}' is not numeric`);
      return value;
    });
  }
  const h = plan.hyperparameters;
  const trainRaw = split.train.map((i) => featureRows[i]);
  const testRaw = evaluated.map((i) => featureRows[i]);
  const yTrain = split.train.map((i) => y[i]);
  const yTest = evaluated.map((i) => y[i]);
  const featureTypes = plan.features.map((name) => ({
    name,
    type: summaries.get(name)!.type,
  }));
  const pre = Preprocessor.fit(trainRaw, featureTypes, { standardize: plan.algorithm === 'mlp' });
  if (pre.width === 0) throw new TrainingDataError('the features encode to no values');
  const xTrain = pre.transformAll(trainRaw);
  const xTest = pre.transformAll(testRaw);
  hooks.onLog?.(
    `training ${plan.algorithm} on ${xTrain.length} rows, testing on ${xTest.length}; ${pre.width} encoded features`,
  );

  let onnx: Uint8Array;
  let outputs: TrainerOutputs;
  let backend: MlpBackendName | null = null;
  let tfjs: TrainingOutcome['tfjs'];
  let treeDescription: TreeDescription | undefined;
  let stopped: { epochsRun: number; stoppedBy: MlpStopReason } | undefined;
  const classCount = labels?.values.length ?? 0;

  if (plan.algorithm === 'decision_tree') {
    const treeH = h as TreeHyperparameters;
    const trainRows = Array.from({ length: xTrain.length }, (_, i) => i);
    const onTreeProgress = (progress: TreeProgress) => void hooks.onProgress?.({ ...progress });
    let tree: DecisionTree;
    if (treeH.variant === 'cart') {
      const data = treeDataFrom(xTrain, yTrain);
      tree = trainDecisionTree(
        data,
        trainRows,
        classification ? 'classification' : 'regression',
        classCount,
        // Checked at every node: a cancel stops the tree between nodes, not after it is grown.
        { ...treeH, shouldStop: hooks.shouldStop },
        onTreeProgress,
      );
      treeDescription = describeBinaryTree(
        tree,
        pre.state,
        labels ? labels.values.map(String) : null,
        classification
          ? treeH.criterion === 'entropy'
            ? 'entropyDecrease'
            : 'giniDecrease'
          : 'varianceDecrease',
        treeH.pruning,
      );
    } else {
      const data = attributeDataFrom(trainRaw, yTrain, pre.state, classCount);
      const multiway = trainMultiwayTree(
        data,
        trainRows,
        { ...treeH, variant: treeH.variant, shouldStop: hooks.shouldStop },
        onTreeProgress,
      );
      tree = multiwayToBinary(multiway, pre.state);
      treeDescription = describeMultiwayTree(
        multiway,
        pre.state,
        labels!.values.map(String),
        treeH.pruning,
      );
    }
    if (hooks.shouldStop?.()) throw new TrainingStoppedError();
    onnx = exportTreeToOnnx(tree, pre, labels);
    const predicted = xTest.map((x) => predictTree(tree, x));
    outputs = classification
      ? {
          probabilities: predicted.map((p) => Float32Array.from(p)),
          labels: predicted.map((p) => argmax(p)),
        }
      : { predictions: predicted.map((p) => p[0]) };
  } else {
    const mlpH = h as MlpHyperparameters;
    const tfjsBackend = await activateTfjsBackend(hooks.backend ?? 'auto');
    let targetScaling: { mean: number; scale: number } | undefined;
    let yFit = yTrain;
    if (!classification) {
      const mean = yTrain.reduce((a, b) => a + b, 0) / yTrain.length;
      const std = Math.sqrt(yTrain.reduce((a, b) => a + (b - mean) ** 2, 0) / yTrain.length);
      targetScaling = { mean: Math.fround(mean), scale: Math.fround(std > 1e-12 ? std : 1) };
      yFit = yTrain.map((v) => (v - targetScaling!.mean) / targetScaling!.scale);
    }
    const trained = await trainMlp({
      x: xTrain,
      y: yFit,
      width: pre.width,
      classCount: classification ? classCount : null,
      hyperparameters: mlpH,
      onEpoch: (progress) => hooks.onProgress?.({ ...progress }),
      shouldStop: hooks.shouldStop,
      engine: hooks.engine,
      threads: hooks.threads,
    });
    if (hooks.shouldStop?.()) {
      trained.model.dispose();
      throw new TrainingStoppedError();
    }
    backend = mlpBackendName(tfjsBackend, trained.engine);
    stopped = { epochsRun: trained.epochsRun, stoppedBy: trained.stoppedBy };
    if (trained.stoppedBy !== 'epochs') {
      hooks.onLog?.(`stopped by ${trained.stoppedBy} after epoch ${trained.epochsRun}`);
    }
    hooks.onLog?.(
      trained.engine === 'onnxruntime'
        ? `trained on ONNX Runtime (CPU); TensorFlow.js backend for the layers model: ${tfjsBackend}`
        : `trained on TensorFlow.js backend: ${tfjsBackend}`,
    );
    onnx = exportMlpToOnnx({
      layers: trained.layers,
      activation: mlpH.activation,
      pre,
      labels,
      targetScaling,
    });
    const raw = trained.predict(xTest);
    outputs = classification
      ? { probabilities: raw, labels: raw.map((p) => argmax(p)) }
      : { predictions: raw.map((p) => p[0] * targetScaling!.scale + targetScaling!.mean) };
    tfjs = { ...(await saveTfjsArtifact(trained.model)), preprocessing: pre.state };
    trained.model.dispose();
  }

  const metrics = classification
    ? classificationMetrics(yTest, outputs.labels!, labels!.values.map(String))
    : regressionMetrics(yTest, outputs.predictions!);
  const onnxMaxAbsDiff = await checkOnnxAgrees(onnx, pre, testRaw, outputs, labels);
  hooks.onLog?.(
    `ONNX Runtime agrees with the trainer on ${testRaw.length} rows (max |diff| ${onnxMaxAbsDiff.toExponential(2)})`,
  );
  return {
    onnx,
    metrics: {
      ...metrics,
      trainRows: xTrain.length,
      evaluatedOn: onTrainingRows ? 'training' : 'test',
      ...stopped,
    },
    ...(treeDescription && { tree: treeDescription }),
    backend,
    tfjs,
    onnxMaxAbsDiff,
    inputs: pre.allNumeric ? ['features'] : plan.features,
  };
}

/**
 * The rows a plan trains and is evaluated on, split as runTraining splits them: rows with a
 * target value, a seeded train/test split (testSplit 0: every row trains, and is evaluated on).
 */
export function planRows(
  table: CsvTable,
  plan: Pick<TrainingPlan, 'target' | 'features'> & {
    hyperparameters: { testSplit: number; seed: number };
  },
) {
  const columnIndex = new Map(table.header.map((name, index) => [name, index]));
  const missingColumn = [plan.target, ...plan.features].find((name) => !columnIndex.has(name));
  if (missingColumn) throw new TrainingDataError(`column '${missingColumn}' is not in the dataset`);
  const targetIndex = columnIndex.get(plan.target)!;
  const featureIndices = plan.features.map((name) => columnIndex.get(name)!);
  const rows = table.rows.filter((row) => row[targetIndex] !== '');
  if (rows.length < 4) throw new TrainingDataError('fewer than 4 rows have a target value');
  const { testSplit, seed } = plan.hyperparameters;
  const onTrainingRows = testSplit === 0;
  const split = onTrainingRows
    ? { train: rows.map((_, i) => i), test: [] as number[] }
    : trainTestSplit(rows.length, testSplit, seed);
  const featureRows = rows.map((row) => featureIndices.map((i) => row[i]));
  const evaluated = onTrainingRows ? split.train : split.test;
  return { rows, targetIndex, featureRows, split, evaluated, onTrainingRows };
}

/**
 * The raw feature cells and target of the rows a trained model was evaluated on (its held-out
 * rows; the training rows when it trained on all), for measuring a later copy of it the same way.
 */
export async function heldOutRows(
  csv: Buffer,
  plan: Parameters<typeof planRows>[1],
): Promise<{ features: string[][]; targets: string[]; onTrainingRows: boolean }> {
  const { rows, targetIndex, featureRows, evaluated, onTrainingRows } = planRows(
    await readCsvTable(csv),
    plan,
  );
  return {
    features: evaluated.map((i) => featureRows[i]),
    targets: evaluated.map((i) => rows[i][targetIndex]),
    onTrainingRows,
  };
}

/** How an exported model takes its features: one `features` matrix, or an input per feature. */
export interface FeatureLayout {
  allNumeric: boolean;
  features: readonly { name: string; type: 'numeric' | 'categorical' }[];
}

/** ONNX feeds for raw feature rows, as a client would send them. */
export function onnxFeeds(
  layout: FeatureLayout,
  rawRows: readonly (readonly string[])[],
): Record<string, ort.Tensor> {
  const n = rawRows.length;
  const numberOf = (raw: string) => parseNumber(raw) ?? Number.NaN;
  if (layout.allNumeric) {
    const width = layout.features.length;
    const data = new Float32Array(n * width);
    rawRows.forEach((row, i) => row.forEach((raw, j) => (data[i * width + j] = numberOf(raw))));
    return { features: new ort.Tensor('float32', data, [n, width]) };
  }
  const feeds: Record<string, ort.Tensor> = {};
  layout.features.forEach((feature, j) => {
    feeds[feature.name] =
      feature.type === 'numeric'
        ? new ort.Tensor(
            'float32',
            Float32Array.from(rawRows, (row) => numberOf(row[j])),
            [n, 1],
          )
        : new ort.Tensor(
            'string',
            rawRows.map((row) => row[j]),
            [n, 1],
          );
  });
  return feeds;
}

const AGREEMENT_TOLERANCE = 1e-4;

async function checkOnnxAgrees(
  onnx: Uint8Array,
  pre: Preprocessor,
  rawRows: readonly (readonly string[])[],
  expected: TrainerOutputs,
  labels: ClassLabels | null,
): Promise<number> {
  if (rawRows.length === 0) return 0;
  const session = await ort.InferenceSession.create(onnx);
  try {
    const result = await session.run(
      onnxFeeds({ allNumeric: pre.allNumeric, features: pre.state.features }, rawRows),
    );
    let maxDiff = 0;
    if (labels) {
      const probabilities = result.probabilities.data as Float32Array;
      const k = labels.values.length;
      const got = Array.from(result.label.data as ArrayLike<string | bigint>, String);
      rawRows.forEach((_, i) => {
        for (let c = 0; c < k; c += 1) {
          maxDiff = Math.max(
            maxDiff,
            Math.abs(probabilities[i * k + c] - expected.probabilities![i][c]),
          );
        }
        const want = String(labels.values[expected.labels![i]]);
        if (got[i] !== want) {
          throw new Error(
            `exported model predicts '${got[i]}' for test row ${i}, the trainer '${want}' (${Array.from(probabilities.slice(i * k, i * k + k)).join(',')} vs ${Array.from(expected.probabilities![i]).join(',')})`,
          );
        }
      });
    } else {
      const predictions = result.prediction.data as Float32Array;
      rawRows.forEach((_, i) => {
        const scale = Math.max(1, Math.abs(expected.predictions![i]));
        maxDiff = Math.max(maxDiff, Math.abs(predictions[i] - expected.predictions![i]) / scale);
      });
    }
    if (maxDiff > AGREEMENT_TOLERANCE) {
      throw new Error(
        `exported model differs from the trainer by ${maxDiff} (> ${AGREEMENT_TOLERANCE})`,
      );
    }
    return maxDiff;
  } finally {
    await session.release();
  }
}
