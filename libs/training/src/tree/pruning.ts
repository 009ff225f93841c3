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

/** The internal node with the smallest g(t) = (R(t) − R(T_t)) / (|T_t| − 1), per root row. */
function weakestLink(tree: DecisionTree): { index: number; alpha: number } | null {
  const total = tree.nodes[0].samples;
  let best: { index: number; alpha: number } | null = null;
  // One post-order pass: each subtree's resubstitution cost and leaf count.
  const visit = (index: number): { cost: number; leaves: number } => {
    const node = tree.nodes[index];
    if (node.feature < 0) return { cost: nodeCost(tree, node), leaves: 1 };
    const left = visit(node.left);
    const right = visit(node.right);
    const cost = left.cost + right.cost;
    const leaves = left.leaves + right.leaves;
    const alpha = (nodeCost(tree, node) - cost) / total / (leaves - 1);
    // Ties go to the node nearest the root in depth-first order, as a pre-order walk found.
    if (!best || alpha < best.alpha || (alpha === best.alpha && index < best.index)) {
      best = { index, alpha };
    }
    return { cost, leaves };
  };
  visit(0);
  return best;
}

/** The weakest-link sequence: each alpha with the subtree optimal from it on. */
export function costComplexitySequence(
  tree: DecisionTree,
): { alpha: number; tree: DecisionTree }[] {
  let current = compactTree(tree);
  const sequence = [{ alpha: 0, tree: current }];
  for (;;) {
    const link = weakestLink(current);
    if (!link) return sequence;
    const nodes = current.nodes.map((n) => ({ ...n }));
    nodes[link.index].feature = -1;
    current = compactTree({ ...current, nodes });
    const alpha = Math.max(link.alpha, sequence[sequence.length - 1].alpha);
    // Several links at the same alpha collapse together: keep the last tree for it.
    if (alpha <= sequence[sequence.length - 1].alpha + 1e-15 && sequence.length > 1) {
      sequence[sequence.length - 1].tree = current;
    } else {
      sequence.push({ alpha, tree: current });
    }
  }
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

// ---- Reduced-error pruning (Quinlan 1987) ------------------------------------------------------

/**
 * Bottom-up, a node becomes a leaf whenever that does not increase the loss (errors, or squared
 * errors) on the validation rows; a node no validation row reaches becomes a leaf.
 */
export function reducedErrorPrune(
  tree: DecisionTree,
  data: TreeData,
  validationRows: readonly number[],
): DecisionTree {
  const nodes = tree.nodes.map((n) => ({ ...n }));
  const lossAsLeaf = (node: TreeNode, i: number): number => {
    if (tree.kind === 'regression') return (node.value[0] - data.y[i]) ** 2;
    return node.value.indexOf(Math.max(...node.value)) === data.y[i] ? 0 : 1;
  };
  const prune = (index: number, rows: readonly number[]): number => {
    const node = nodes[index];
    let asLeaf = 0;
    for (const i of rows) asLeaf += lossAsLeaf(node, i);
    if (node.feature < 0) return asLeaf;
    const column = data.columns[node.feature];
    const left = rows.filter((i) => Math.fround(column[i]) <= node.threshold);
    const right = rows.filter((i) => Math.fround(column[i]) > node.threshold);
    const subtree = prune(node.left, left) + prune(node.right, right);
    if (asLeaf <= subtree + 1e-12) {
      node.feature = -1;
      return asLeaf;
    }
    return subtree;
  };
  prune(0, validationRows);
  return compactTree({ ...tree, nodes });
}
