import {
  type AttributeData,
  type MultiwayNode,
  type MultiwayTree,
  partition,
  type WeightedCase,
} from './multiway-tree.js';
import { pessimisticExtraErrors } from './pruning.js';

const EPSILON = 1e-9;

function cloneNode(node: MultiwayNode): MultiwayNode {
  return {
    distribution: [...node.distribution],
    samples: node.samples,
    ...(node.split && {
      split: { ...node.split, branchWeights: [...node.split.branchWeights] },
    }),
    children: node.children.map(cloneNode),
  };
}

function makeLeaf(node: MultiwayNode): void {
  delete node.split;
  node.children = [];
}

function majority(distribution: readonly number[]): number {
  let best = 0;
  for (let c = 1; c < distribution.length; c += 1)
    if (distribution[c] > distribution[best]) best = c;
  return best;
}

/**
 * C4.5's pessimistic pruning (Quinlan 1993, ch. 4, and release 8's prune.c) with subtree
 * raising: bottom-up, a node becomes a leaf when the leaf's estimated errors (upper confidence
 * limit at cf) are no more than the subtree's, or is replaced by its most-used branch when
 * that branch, classifying all of the node's cases, estimates no more errors than the subtree.
 * A raised branch is re-fitted to the node's cases (class distributions and branch weights).
 */
export function pessimisticPruneMultiway(
  tree: MultiwayTree,
  data: AttributeData,
  rows: readonly number[],
  cf: number,
): MultiwayTree {
  const estimate = (
    node: MultiwayNode,
    cases: readonly WeightedCase[],
    update: boolean,
  ): number => {
    const distribution = new Array<number>(data.classCount).fill(0);
    for (const c of cases) distribution[data.y[c.row]] += c.weight;
    const total = distribution.reduce((a, b) => a + b, 0);
    if (update) {
      node.distribution = distribution;
      node.samples = total;
    }
    if (total <= EPSILON) return 0;
    const leafErrors = total - Math.max(...distribution);
    const asLeaf = leafErrors + pessimisticExtraErrors(total, leafErrors, cf);
    if (!node.split) return asLeaf;
    if (update) {
      const weights = node.split.branchWeights.map(() => 0);
      const attribute = data.attributes[node.split.attribute];
      for (const c of cases) {
        const v = attribute.values[c.row];
        if (attribute.type === 'categorical') {
          if (v >= 0) weights[v] += c.weight;
        } else if (!Number.isNaN(v)) {
          weights[v <= node.split.threshold! ? 0 : 1] += c.weight;
        }
      }
      if (weights.some((w) => w > EPSILON)) node.split.branchWeights = weights;
    }
    const parts = partition(data, node.split, cases);
    let subtree = 0;
    node.children.forEach((child, b) => (subtree += estimate(child, parts[b], update)));
    if (!update) return subtree;
    let largest = 0;
    node.children.forEach((child, b) => {
      if (child.samples > node.children[largest].samples) largest = b;
    });
    const branch = estimate(cloneNode(node.children[largest]), cases, false);
    if (asLeaf <= branch + 0.1 && asLeaf <= subtree + 0.1) {
      makeLeaf(node);
      return asLeaf;
    }
    if (branch <= subtree + 0.1) {
      const raised = node.children[largest];
      node.split = raised.split;
      node.children = raised.children;
      return estimate(node, cases, true);
    }
    return subtree;
  };
  const root = cloneNode(tree.root);
  estimate(
    root,
    rows.map((row) => ({ row, weight: 1 })),
    true,
  );
  return { ...tree, root };
}

/**
 * Quinlan's (1987) reduced-error pruning: bottom-up, a node becomes a leaf (its training
 * majority class) whenever that does not increase the errors on the validation cases.
 */
export function reducedErrorPruneMultiway(
  tree: MultiwayTree,
  data: AttributeData,
  validationRows: readonly number[],
): MultiwayTree {
  const prune = (
    node: MultiwayNode,
    cases: readonly WeightedCase[],
    parentClass: number,
  ): number => {
    const predicted = node.samples > EPSILON ? majority(node.distribution) : parentClass;
    let asLeaf = 0;
    for (const c of cases) if (data.y[c.row] !== predicted) asLeaf += c.weight;
    if (!node.split) return asLeaf;
    const parts = partition(data, node.split, cases);
    let subtree = 0;
    node.children.forEach((child, b) => (subtree += prune(child, parts[b], predicted)));
    if (asLeaf <= subtree + EPSILON) {
      makeLeaf(node);
      return asLeaf;
    }
    return subtree;
  };
  const root = cloneNode(tree.root);
  prune(
    root,
    validationRows.map((row) => ({ row, weight: 1 })),
    majority(root.distribution),
  );
  return { ...tree, root };
}
