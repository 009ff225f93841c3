import { parseNumber } from '../data/csv-reader.js';
import type { PreprocessorState } from '../preprocessing/preprocessor.js';
import type { DecisionTree, TreeNode } from './decision-tree.js';
import type { AttributeData, MultiwayNode, MultiwayTree, TreeAttribute } from './multiway-tree.js';

/** The raw attributes of rows, categories numbered as the preprocessor one-hot encodes them. */
export function attributeDataFrom(
  rows: readonly (readonly string[])[],
  y: readonly number[],
  state: PreprocessorState,
  classCount: number,
): AttributeData {
  const attributes = state.features.map((feature, column): TreeAttribute => {
    if (feature.type === 'numeric') {
      const values = Float64Array.from(rows, (row) => {
        const value = parseNumber(row[column]);
        return value === null ? Number.NaN : Math.fround(value);
      });
      return { name: feature.name, type: 'numeric', values };
    }
    const position = new Map(feature.categories.map((category, index) => [category, index]));
    const values = Int32Array.from(rows, (row) => position.get(row[column]) ?? -1);
    return { name: feature.name, type: 'categorical', categories: feature.categories, values };
  });
  return { attributes, y: Int32Array.from(y), classCount };
}

/**
 * The multiway tree as a binary tree over the encoded features, for prediction and the ONNX
 * TreeEnsemble export: a categorical split becomes a chain of one-hot tests (`x[category] > 0.5`
 * → that category's branch), ending in a leaf with the node's own class distribution for a
 * category not seen in training or a missing one. A missing number has been imputed with the
 * training mean by the preprocessor and follows that value's branch.
 */
export function multiwayToBinary(tree: MultiwayTree, state: PreprocessorState): DecisionTree {
  const offsets: number[] = [];
  let offset = 0;
  for (const feature of state.features) {
    offsets.push(offset);
    offset += feature.type === 'numeric' ? 1 : feature.categories.length;
  }
  const nodes: TreeNode[] = [];
  const leaf = (distribution: readonly number[]): number => {
    nodes.push({
      feature: -1,
      threshold: 0,
      left: -1,
      right: -1,
      samples: distribution.reduce((a, b) => a + b, 0),
      value: [...distribution],
      sse: 0,
    });
    return nodes.length - 1;
  };
  const test = (feature: number, threshold: number, distribution: readonly number[]): number => {
    const id = leaf(distribution);
    nodes[id].feature = feature;
    nodes[id].threshold = threshold;
    return id;
  };
  const visit = (node: MultiwayNode, parent: readonly number[]): number => {
    const own = node.samples > 1e-9 ? node.distribution : parent;
    if (!node.split) return leaf(own);
    const split = node.split;
    const base = offsets[split.attribute];
    if (split.threshold !== undefined) {
      const id = test(base, Math.fround(split.threshold), own);
      nodes[id].left = visit(node.children[0], own);
      nodes[id].right = visit(node.children[1], own);
      return id;
    }
    const first = nodes.length;
    node.children.forEach((child, category) => {
      const id = test(base + category, 0.5, own);
      nodes[id].right = visit(child, own);
      // The next test is pushed after this branch's subtree: chain it from there.
      nodes[id].left = -2;
    });
    // Link each chain test's `left` to the next test (or to the fallback leaf).
    const chain = nodes
      .map((n, i) => ({ n, i }))
      .filter(({ n, i }) => i >= first && n.left === -2)
      .map(({ i }) => i);
    const fallback = leaf(own);
    chain.forEach((id, k) => (nodes[id].left = k + 1 < chain.length ? chain[k + 1] : fallback));
    return first;
  };
  visit(tree.root, tree.root.distribution);
  return { kind: 'classification', nodes, classCount: tree.classCount };
}
