import {
  compactTree,
  type DecisionTree,
  leafOf,
  type TreeData,
  type TreeNode,
} from './decision-tree.js';

// ---- C4.5 pessimistic (error-based) pruning -------------------------------------------------

/** Inverse of the standard normal CDF (Acklam's rational approximation). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * C4.5's extra errors: the upper confidence limit (at confidence factor cf) of the error rate
 * of a leaf with e errors among n cases, times n, minus e.
 */
export function pessimisticExtraErrors(n: number, e: number, cf: number): number {
  if (n <= 0) return 0;
  if (e < 1) {
    const base = n * (1 - Math.pow(cf, 1 / n));
    if (e === 0) return base;
    return base + e * (pessimisticExtraErrors(n, 1, cf) - base);
  }
  if (e + 0.5 >= n) return Math.max(n - e, 0);
  const z = normalQuantile(1 - cf);
  const f = (e + 0.5) / n;
  const r =
    (f + (z * z) / (2 * n) + z * Math.sqrt(f / n - (f * f) / n + (z * z) / (4 * n * n))) /
    (1 + (z * z) / n);
  return r * n - e;
}

function leafErrors(node: TreeNode): number {
  return node.samples - Math.max(...node.value);
}

/** Bottom-up subtree replacement where a leaf's estimated errors are no worse than the subtree's. */
export function pessimisticPrune(tree: DecisionTree, cf: number): DecisionTree {
  const nodes = tree.nodes.map((n) => ({ ...n }));
  const estimate = (index: number): number => {
    const node = nodes[index];
    const asLeaf = leafErrors(node) + pessimisticExtraErrors(node.samples, leafErrors(node), cf);
    if (node.feature < 0) return asLeaf;
    const subtree = estimate(node.left) + estimate(node.right);
    if (asLeaf <= subtree + 0.1) {
      node.feature = -1;
      return asLeaf;
    }
    return subtree;
  };
  estimate(0);
  return compactTree({ ...tree, nodes });
}

// ---- CART cost-complexity (weakest-link) pruning ---------------------------------------------

/** Resubstitution cost of a node as a leaf: misclassified rows, or the sum of squared errors. */
function nodeCost(tree: DecisionTree, node: TreeNode): number {
  return tree.kind === 'classification' ? leafErrors(node) : node.sse;
}

interface SubtreeCost {
  cost: number;
  leaves: number;
}

function subtreeCost(tree: DecisionTree, index: number): SubtreeCost {
  const node = tree.nodes[index];
  if (node.feature < 0) return { cost: nodeCost(tree, node), leaves: 1 };
  const left = subtreeCost(tree, node.left);
  const right = subtreeCost(tree, node.right);
  return { cost: left.cost + right.cost, leaves: left.leaves + right.leaves };
}

/** The internal node with the smallest g(t) = (R(t) − R(T_t)) / (|T_t| − 1), per root row. */
function weakestLink(tree: DecisionTree): { index: number; alpha: number } | null {
  const total = tree.nodes[0].samples;
  let best: { index: number; alpha: number } | null = null;
  const visit = (index: number) => {
    const node = tree.nodes[index];
    if (node.feature < 0) return;
    const sub = subtreeCost(tree, index);
    const alpha = (nodeCost(tree, node) - sub.cost) / total / (sub.leaves - 1);
    if (!best || alpha < best.alpha) best = { index, alpha };
    visit(node.left);
    visit(node.right);
  };
  visit(0);
  return best;
}

/** Collapses weakest links while their g(t) is at most alpha. */
export function costComplexityPrune(tree: DecisionTree, alpha: number): DecisionTree {
  let current = compactTree(tree);
  for (;;) {
    const link = weakestLink(current);
    if (!link || link.alpha > alpha + 1e-15) return current;
    const nodes = current.nodes.map((n) => ({ ...n }));
    nodes[link.index].feature = -1;
    current = compactTree({ ...current, nodes });
  }
}

/** The alphas at which the weakest-link sequence prunes, smallest first (0 first). */
export function costComplexityPath(tree: DecisionTree): number[] {
  const alphas = [0];
  let current = compactTree(tree);
  for (;;) {
    const link = weakestLink(current);
    if (!link) return alphas;
    alphas.push(Math.max(link.alpha, alphas[alphas.length - 1]));
    const nodes = current.nodes.map((n) => ({ ...n }));
    nodes[link.index].feature = -1;
    current = compactTree({ ...current, nodes });
  }
}

/** Validation loss of a tree: error rate, or mean squared error. */
export function treeLoss(tree: DecisionTree, data: TreeData, rows: readonly number[]): number {
  let loss = 0;
  const x = new Float32Array(data.columns.length);
  for (const i of rows) {
    for (let j = 0; j < x.length; j += 1) x[j] = data.columns[j][i];
    const leaf = leafOf(tree, x);
    if (tree.kind === 'classification') {
      const predicted = leaf.value.indexOf(Math.max(...leaf.value));
      if (predicted !== data.y[i]) loss += 1;
    } else {
      loss += (leaf.value[0] - data.y[i]) ** 2;
    }
  }
  return loss / Math.max(1, rows.length);
}
