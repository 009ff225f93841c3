import type { TreeCriterion, TreePruning } from '../job-spec/job-spec.js';

/**
 * A binary decision tree over encoded features: internal nodes send x[feature] <= threshold
 * left. Thresholds are float32 values and inputs are compared as float32, exactly as ONNX
 * Runtime's TreeEnsemble operators do, so the exported model decides every row the same way.
 */
export interface TreeNode {
  /** -1 for a leaf. */
  feature: number;
  threshold: number;
  left: number;
  right: number;
  samples: number;
  /** Classification: class counts; regression: [mean]. */
  value: number[];
  /** Regression: sum of squared errors around the mean (cost-complexity pruning). */
  sse: number;
  /** Internal nodes: what the criterion scored the split (impurity decrease or gain ratio). */
  criterionValue?: number;
}

export interface DecisionTree {
  kind: 'classification' | 'regression';
  nodes: TreeNode[];
  classCount: number;
}

export interface TreeGrowOptions {
  criterion: TreeCriterion;
  maxDepth: number;
  minSamplesLeaf: number;
  /** Pre-pruning: a split must score more than this (0: any gain). */
  minGain?: number;
  /** Asked at every node; true stops growing with TrainingStoppedError. */
  shouldStop?: () => boolean;
}

export interface TreeOptions extends TreeGrowOptions {
  pruning: TreePruning;
  confidenceFactor: number;
  ccpAlpha?: number;
  /** Reduced-error pruning: the fraction of rows held out to prune on. */
  validationSplit?: number;
  seed: number;
}

/** Column-major float32 features with targets (class indices or numbers). */
export interface TreeData {
  columns: Float32Array[];
  y: Float64Array;
  rows: number;
}

export function treeDataFrom(rows: readonly Float32Array[], y: readonly number[]): TreeData {
  const width = rows[0]?.length ?? 0;
  const columns = Array.from({ length: width }, (_, j) => {
    const column = new Float32Array(rows.length);
    rows.forEach((row, i) => (column[i] = row[j]));
    return column;
  });
  return { columns, y: Float64Array.from(y), rows: rows.length };
}

export function leafOf(tree: DecisionTree, x: ArrayLike<number>): TreeNode {
  let node = tree.nodes[0];
  while (node.feature >= 0) {
    node = tree.nodes[Math.fround(x[node.feature]) <= node.threshold ? node.left : node.right];
  }
  return node;
}

/** Class probabilities (classification) or [prediction] (regression). */
export function predictTree(tree: DecisionTree, x: ArrayLike<number>): number[] {
  const leaf = leafOf(tree, x);
  if (tree.kind === 'regression') return [leaf.value[0]];
  return leaf.value.map((count) => count / leaf.samples);
}

export function treeDepth(tree: DecisionTree, index = 0): number {
  const node = tree.nodes[index];
  if (node.feature < 0) return 0;
  return 1 + Math.max(treeDepth(tree, node.left), treeDepth(tree, node.right));
}

export function leafCount(tree: DecisionTree, index = 0): number {
  const node = tree.nodes[index];
  if (node.feature < 0) return 1;
  return leafCount(tree, node.left) + leafCount(tree, node.right);
}

/** The tree with only the nodes reachable from the root, renumbered depth first. */
export function compactTree(tree: DecisionTree): DecisionTree {
  const nodes: TreeNode[] = [];
  const visit = (index: number): number => {
    const node = tree.nodes[index];
    const id = nodes.length;
    nodes.push({ ...node, value: [...node.value] });
    if (node.feature >= 0) {
      const left = visit(node.left);
      const right = visit(node.right);
      nodes[id].left = left;
      nodes[id].right = right;
    } else {
      nodes[id].left = -1;
      nodes[id].right = -1;
    }
    return id;
  };
  visit(0);
  return { ...tree, nodes };
}
