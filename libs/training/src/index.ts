export {
  ColumnProfiler,
  CsvFormatError,
  DISTINCT_LIMIT,
  MAX_RECORD_BYTES,
  parseNumber,
  profileCsv,
  readCsvTable,
  scanCsv,
  type ColumnSummary,
  type ColumnType,
  type CsvSummary,
  type CsvTable,
} from './data/csv-reader.js';
export { shuffledIndices, trainTestSplit } from './data/split.js';
export {
  ALGORITHMS,
  MAX_CLASSES,
  MLP_ACTIVATIONS,
  TASKS,
  TrainingSpecError,
  mlpHyperparametersSchema,
  parseHyperparameters,
  planTraining,
  trainingRequestSchema,
  treeHyperparametersSchema,
  type Algorithm,
  type Hyperparameters,
  type MlpHyperparameters,
  type Task,
  type TrainingPlan,
  type TrainingRequest,
  type TreeHyperparameters,
} from './job-spec/job-spec.js';
export {
  Preprocessor,
  type FeatureEncoding,
  type PreprocessorState,
} from './preprocessing/preprocessor.js';
export {
  argmax,
  classificationMetrics,
  regressionMetrics,
  type ClassificationMetrics,
  type ModelMetrics,
  type RegressionMetrics,
} from './metrics/metrics.js';
export {
  compactTree,
  leafCount,
  predictTree,
  treeDataFrom,
  treeDepth,
  type DecisionTree,
  type TreeNode,
} from './tree/decision-tree.js';
export { growTree } from './tree/tree-builder.js';
export {
  costComplexityPath,
  costComplexityPrune,
  pessimisticExtraErrors,
  pessimisticPrune,
  reducedErrorPrune,
} from './tree/pruning.js';
export { trainDecisionTree, trainMultiwayTree, type TreeProgress } from './tree/train-tree.js';
export {
  growMultiwayTree,
  type AttributeData,
  type MultiwayNode,
  type MultiwayTree,
} from './tree/multiway-tree.js';
export { pessimisticPruneMultiway, reducedErrorPruneMultiway } from './tree/multiway-pruning.js';
export { attributeDataFrom, multiwayToBinary } from './tree/multiway-encoding.js';
export {
  describeBinaryTree,
  describeMultiwayTree,
  type TreeDescription,
  type TreeNodeDescription,
} from './tree/tree-description.js';
export {
  exportMlpToOnnx,
  exportTreeToOnnx,
  type ClassLabels,
  type DenseLayerWeights,
} from './export/onnx-export.js';
export {
  chooseMlpEngine,
  mlpBackendName,
  rowMatrix,
  trainMlp,
  saveTfjsArtifact,
  type EpochProgress,
  type MlpBackendName,
  type MlpEngine,
  type MlpStopReason,
  type TfjsArtifact,
} from './mlp/mlp-trainer.js';
export {
  TrainingDataError,
  TrainingStoppedError,
  type FeatureLayout,
  heldOutRows,
  onnxFeeds,
  planRows,
  runTraining,
  type TrainingHooks,
  type TrainingOutcome,
  type TrainingProgress,
} from './pipeline/run-training.js';
export { featureLayoutOf, labelAccuracy } from './optimize/evaluate-rows.js';
export { optimizeOnnx } from './optimize/optimize-onnx.js';
export {
  OPTIMIZE_ALGORITHM,
  type OptimizeJobSpec,
  type OptimizeRequest,
  optimizeRequestSchema,
} from './optimize/optimize-request.js';
