import {
  attribute,
  buildModel,
  encodeModel,
  node,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  TensorDataType,
  tensorProto,
  valueInfo,
} from '@maas/onnx';
import type { Preprocessor } from '../preprocessing/preprocessor.js';
import type { MlpActivationName } from '../job-spec/job-spec.js';
import type { DecisionTree } from '../tree/decision-tree.js';

const ML_DOMAIN = 'ai.onnx.ml';
const OPSETS = { '': 17, [ML_DOMAIN]: 3 };

/** Class labels as the model outputs them: strings, or int64 for integer targets. */
export type ClassLabels =
  { kind: 'string'; values: string[] } | { kind: 'int64'; values: number[] };

interface GraphParts {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
}

/**
 * Raw client values → the encoded float matrix the model was trained on ('encoded').
 * All-numeric features: one FLOAT input `features` [batch, n]; otherwise one input per column
 * ([batch, 1], FLOAT or STRING). Missing numbers (NaN) are imputed with the training mean.
 */
function preprocessingGraph(pre: Preprocessor, parts: GraphParts): string {
  const { features, standardize } = pre.state;
  const numericStep = (input: string, prefix: string, means: number[], scales: number[]) => {
    const imputed = `${prefix}_imputed`;
    parts.nodes.push(
      node(
        'Imputer',
        [input],
        [imputed],
        {
          imputed_value_floats: attribute.floats(means),
          replaced_value_float: attribute.float(Number.NaN),
        },
        ML_DOMAIN,
      ),
    );
    if (!standardize) return imputed;
    parts.initializers.push(
      tensorProto(`${prefix}_mean`, TensorDataType.FLOAT, [means.length], means),
      tensorProto(`${prefix}_scale`, TensorDataType.FLOAT, [scales.length], scales),
    );
    parts.nodes.push(
      node('Sub', [imputed, `${prefix}_mean`], [`${prefix}_centred`]),
      node('Div', [`${prefix}_centred`, `${prefix}_scale`], [`${prefix}_scaled`]),
    );
    return `${prefix}_scaled`;
  };

  if (pre.allNumeric) {
    parts.inputs.push(valueInfo('features', TensorDataType.FLOAT, ['batch', features.length]));
    const numeric = features.filter((f) => f.type === 'numeric');
    const out = numericStep(
      'features',
      'features',
      numeric.map((f) => f.mean),
      numeric.map((f) => f.scale),
    );
    parts.nodes.push(node('Identity', [out], ['encoded']));
    return 'encoded';
  }
  const pieces: string[] = [];
  features.forEach((feature, index) => {
    const prefix = `column${index}`;
    if (feature.type === 'numeric') {
      parts.inputs.push(valueInfo(feature.name, TensorDataType.FLOAT, ['batch', 1]));
      pieces.push(numericStep(feature.name, prefix, [feature.mean], [feature.scale]));
    } else {
      parts.inputs.push(valueInfo(feature.name, TensorDataType.STRING, ['batch', 1]));
      parts.initializers.push(
        tensorProto(`${prefix}_shape`, TensorDataType.INT64, [2], [-1, feature.categories.length]),
      );
      parts.nodes.push(
        node(
          'OneHotEncoder',
          [feature.name],
          [`${prefix}_onehot3d`],
          { cats_strings: attribute.strings(feature.categories), zeros: attribute.int(1) },
          ML_DOMAIN,
        ),
        node('Reshape', [`${prefix}_onehot3d`, `${prefix}_shape`], [`${prefix}_onehot`]),
      );
      pieces.push(`${prefix}_onehot`);
    }
  });
  parts.nodes.push(node('Concat', pieces, ['encoded'], { axis: attribute.int(1) }));
  return 'encoded';
}

/** `label` = class_labels[argmax(probabilities)] (first maximum on ties, like the trainer). */
function labelFromProbabilities(parts: GraphParts, labels: ClassLabels): void {
  parts.initializers.push(
    labels.kind === 'string'
      ? tensorProto('class_labels', TensorDataType.STRING, [labels.values.length], labels.values)
      : tensorProto('class_labels', TensorDataType.INT64, [labels.values.length], labels.values),
  );
  parts.nodes.push(
    node('ArgMax', ['probabilities'], ['class_index'], {
      axis: attribute.int(1),
      keepdims: attribute.int(0),
    }),
    node('Gather', ['class_labels', 'class_index'], ['label'], { axis: attribute.int(0) }),
  );
}

function labelOutput(labels: ClassLabels): OnnxValueInfo {
  return valueInfo(
    'label',
    labels.kind === 'string' ? TensorDataType.STRING : TensorDataType.INT64,
    ['batch'],
  );
}

function encode(
  parts: GraphParts,
  outputs: OnnxValueInfo[],
  name: string,
  doc: string,
): Uint8Array {
  return encodeModel(
    buildModel({
      graph: {
        name,
        nodes: parts.nodes,
        initializers: parts.initializers,
        inputs: parts.inputs,
        outputs,
      },
      opsets: OPSETS,
      producerName: 'maas-trainer',
      docString: doc,
    }),
  );
}

/**
 * A tree as ai.onnx.ml TreeEnsembleClassifier (every leaf carries a weight for every class, so
 * `probabilities` are the leaf's class frequencies for any class count) or TreeEnsembleRegressor.
 */
export function exportTreeToOnnx(
  tree: DecisionTree,
  pre: Preprocessor,
  labels: ClassLabels | null,
): Uint8Array {
  const parts: GraphParts = { nodes: [], initializers: [], inputs: [] };
  const encoded = preprocessingGraph(pre, parts);
  const leaf = (index: number) => tree.nodes[index].feature < 0;
  const ids = tree.nodes.map((_, i) => i);
  const nodeAttributes = {
    nodes_treeids: attribute.ints(ids.map(() => 0)),
    nodes_nodeids: attribute.ints(ids),
    nodes_featureids: attribute.ints(tree.nodes.map((n) => Math.max(0, n.feature))),
    nodes_values: attribute.floats(tree.nodes.map((n) => (n.feature < 0 ? 0 : n.threshold))),
    nodes_modes: attribute.strings(ids.map((i) => (leaf(i) ? 'LEAF' : 'BRANCH_LEQ'))),
    nodes_truenodeids: attribute.ints(tree.nodes.map((n) => Math.max(0, n.left))),
    nodes_falsenodeids: attribute.ints(tree.nodes.map((n) => Math.max(0, n.right))),
    nodes_missing_value_tracks_true: attribute.ints(ids.map(() => 0)),
    post_transform: attribute.string('NONE'),
  };
  const leaves = ids.filter(leaf);
  if (tree.kind === 'classification') {
    if (!labels) throw new Error('a classification tree needs class labels');
    const k = tree.classCount;
    const classAttributes = {
      class_treeids: attribute.ints(leaves.flatMap(() => new Array<number>(k).fill(0))),
      class_nodeids: attribute.ints(leaves.flatMap((i) => new Array<number>(k).fill(i))),
      class_ids: attribute.ints(leaves.flatMap(() => Array.from({ length: k }, (_, c) => c))),
      class_weights: attribute.floats(
        leaves.flatMap((i) => tree.nodes[i].value.map((count) => count / tree.nodes[i].samples)),
      ),
      ...(labels.kind === 'string'
        ? { classlabels_strings: attribute.strings(labels.values) }
        : { classlabels_int64s: attribute.ints(labels.values) }),
    };
    parts.nodes.push(
      node(
        'TreeEnsembleClassifier',
        [encoded],
        ['tree_label', 'probabilities'],
        { ...nodeAttributes, ...classAttributes },
        ML_DOMAIN,
      ),
    );
    // ORT's two-class rules pick the label from one score (seen answering the other class
    // where the probabilities say otherwise); the label is the argmax of the probabilities.
    labelFromProbabilities(parts, labels);
    return encode(
      parts,
      [labelOutput(labels), valueInfo('probabilities', TensorDataType.FLOAT, ['batch', k])],
      'decision_tree',
      'decision tree classifier trained by maas',
    );
  }
  parts.nodes.push(
    node(
      'TreeEnsembleRegressor',
      [encoded],
      ['prediction'],
      {
        ...nodeAttributes,
        n_targets: attribute.int(1),
        target_treeids: attribute.ints(leaves.map(() => 0)),
        target_nodeids: attribute.ints(leaves),
        target_ids: attribute.ints(leaves.map(() => 0)),
        target_weights: attribute.floats(leaves.map((i) => tree.nodes[i].value[0])),
        aggregate_function: attribute.string('SUM'),
      },
      ML_DOMAIN,
    ),
  );
  return encode(
    parts,
    [valueInfo('prediction', TensorDataType.FLOAT, ['batch', 1])],
    'decision_tree',
    'decision tree regressor trained by maas',
  );
}

export interface DenseLayerWeights {
  /** [in * out], row-major (TF.js kernel layout). */
  kernel: Float32Array;
  bias: Float32Array;
  inputs: number;
  outputs: number;
}

/** The ONNX operator of each MLP activation (`linear` has none). */
export const ACTIVATION_OPS: Record<Exclude<MlpActivationName, 'linear'>, string> = {
  relu: 'Relu',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  elu: 'Elu',
  selu: 'Selu',
  softplus: 'Softplus',
};

/**
 * An MLP as Gemm nodes with activations; classifiers end in Softmax (`probabilities`) and
 * ArgMax → Gather over the class labels (`label`); regressors undo the target scaling.
 */
export function exportMlpToOnnx(options: {
  layers: DenseLayerWeights[];
  activation: MlpActivationName;
  pre: Preprocessor;
  labels: ClassLabels | null;
  targetScaling?: { mean: number; scale: number };
}): Uint8Array {
  const parts: GraphParts = { nodes: [], initializers: [], inputs: [] };
  let current = preprocessingGraph(options.pre, parts);
  options.layers.forEach((layer, index) => {
    parts.initializers.push(
      tensorProto(
        `dense${index}_kernel`,
        TensorDataType.FLOAT,
        [layer.inputs, layer.outputs],
        layer.kernel,
      ),
      tensorProto(`dense${index}_bias`, TensorDataType.FLOAT, [layer.outputs], layer.bias),
    );
    const linear = `dense${index}_linear`;
    parts.nodes.push(
      node('Gemm', [current, `dense${index}_kernel`, `dense${index}_bias`], [linear], {
        alpha: attribute.float(1),
        beta: attribute.float(1),
      }),
    );
    current = linear;
    const isLast = index === options.layers.length - 1;
    if (!isLast && options.activation !== 'linear') {
      const activated = `dense${index}_${options.activation}`;
      parts.nodes.push(node(ACTIVATION_OPS[options.activation], [current], [activated]));
      current = activated;
    }
  });
  const outputWidth = options.layers[options.layers.length - 1].outputs;
  if (options.labels) {
    const labels = options.labels;
    parts.nodes.push(node('Softmax', [current], ['probabilities'], { axis: attribute.int(1) }));
    labelFromProbabilities(parts, labels);
    return encode(
      parts,
      [
        labelOutput(labels),
        valueInfo('probabilities', TensorDataType.FLOAT, ['batch', outputWidth]),
      ],
      'mlp',
      'MLP classifier trained by maas',
    );
  }
  const scaling = options.targetScaling ?? { mean: 0, scale: 1 };
  parts.initializers.push(
    tensorProto('target_scale', TensorDataType.FLOAT, [1], [scaling.scale]),
    tensorProto('target_mean', TensorDataType.FLOAT, [1], [scaling.mean]),
  );
  parts.nodes.push(
    node('Mul', [current, 'target_scale'], ['prediction_scaled']),
    node('Add', ['prediction_scaled', 'target_mean'], ['prediction']),
  );
  return encode(
    parts,
    [valueInfo('prediction', TensorDataType.FLOAT, ['batch', 1])],
    'mlp',
    'MLP regressor trained by maas',
  );
}
