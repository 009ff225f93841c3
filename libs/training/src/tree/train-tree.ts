import { shuffledIndices, trainTestSplit } from '../data/split.js';
import {
  compactTree,
  type DecisionTree,
  leafCount,
  type TreeData,
  type TreeOptions,
  treeDepth,
} from './decision-tree.js';
import {
  costComplexityPath,
  costComplexityPrune,
  costComplexitySequence,
  pessimisticPrune,
  reducedErrorPrune,
  treeLoss,
} from './pruning.js';
import { growTree } from './tree-builder.js';
import type { TreePruning } from '../job-spec/job-spec.js';
import {
  type AttributeData,
  growMultiwayTree,
  type MultiwayGrowOptions,
  multiwayDepth,
  multiwayLeafCount,
  multiwayNodeCount,
  type MultiwayTree,
} from './multiway-tree.js';
import { pessimisticPruneMultiway, reducedErrorPruneMultiway } from './multiway-pruning.js';

export interface TreeProgress {
  stage: 'grown' | 'pruned';
  nodes: number;
  leaves: number;
  depth: number;
  ccpAlpha?: number;
  validationLoss?: number;
}

/**
 * The rows a tree grows on and, for reduced-error pruning, the held-out rows it is pruned on
 * (none for the other methods, which grow on every row).
 */
function pruningSplit(
  rows: readonly number[],
  options: { pruning: TreePruning; validationSplit?: number; seed: number },
): { growRows: readonly number[]; validationRows: readonly number[] } {
  if (options.pruning !== 'reducedError') return { growRows: rows, validationRows: [] };
  const split = trainTestSplit(rows.length, options.validationSplit ?? 0.25, options.seed + 1);
  return {
    growRows: split.train.map((k) => rows[k]),
    validationRows: split.test.map((k) => rows[k]),
  };
}

/**
 * Grows and prunes a binary (CART) tree on the given rows. Cost-complexity pruning without an
 * explicit ccpAlpha picks it by K-fold cross-validation as Breiman et al. describe: the
 * weakest-link alphas of the tree grown on all rows, each fold's tree pruned at the geometric
 * means of successive alphas and scored on the fold, the alpha with the least cross-validated
 * loss kept (the simplest tree on ties). Reduced-error pruning grows on all but a validation
 * part of the rows and prunes on that part.
 */
export function trainDecisionTree(
  data: TreeData,
  rows: readonly number[],
  kind: 'classification' | 'regression',
  classCount: number,
  options: TreeOptions,
  onProgress: (progress: TreeProgress) => void = () => undefined,
): DecisionTree {
  const grow = (subset: readonly number[]) =>
    compactTree(growTree(data, subset, kind, kind === 'classification' ? classCount : 0, options));
  const { growRows, validationRows } = pruningSplit(rows, options);
  const full = grow(growRows);
  onProgress({
    stage: 'grown',
    nodes: full.nodes.length,
    leaves: leafCount(full),
    depth: treeDepth(full),
  });
  let pruned = full;
  let chosenAlpha: number | undefined;
  let validationLoss: number | undefined;
  if (options.pruning === 'pessimistic' && kind === 'classification') {
    pruned = pessimisticPrune(full, options.confidenceFactor);
  } else if (options.pruning === 'reducedError') {
    pruned = reducedErrorPrune(full, data, validationRows);
    validationLoss = treeLoss(pruned, data, validationRows);
  } else if (options.pruning === 'costComplexity') {
    chosenAlpha = options.ccpAlpha;
    if (chosenAlpha === undefined) {
      const chosen = crossValidatedAlpha(full, rows, data, grow, options.seed);
      chosenAlpha = chosen.alpha;
      validationLoss = chosen.loss;
    }
    pruned = costComplexityPrune(full, chosenAlpha);
  }
  onProgress({
    stage: 'pruned',
    nodes: pruned.nodes.length,
    leaves: leafCount(pruned),
    depth: treeDepth(pruned),
    ...(chosenAlpha !== undefined && { ccpAlpha: chosenAlpha }),
    ...(validationLoss !== undefined && { validationLoss }),
  });
  return pruned;
}

/** Folds for cross-validation: at most 10, at least 2 rows each. */
export function crossValidationFolds(n: number, seed: number): number[][] {
  const k = Math.min(10, Math.floor(n / 2));
  if (k < 2) return [];
  const order = shuffledIndices(n, seed);
  return Array.from({ length: k }, (_, f) => order.filter((_, position) => position % k === f));
}

function crossValidatedAlpha(
  full: DecisionTree,
  rows: readonly number[],
  data: TreeData,
  grow: (subset: readonly number[]) => DecisionTree,
  seed: number,
): { alpha: number; loss?: number } {
  const alphas = costComplexityPath(full);
  const folds = crossValidationFolds(rows.length, seed + 1);
  if (folds.length === 0 || alphas.length === 1) return { alpha: 0 };
  // Each alpha_k stands for the interval [alpha_k, alpha_k+1): score its geometric midpoint.
  const probes = alphas.map((a, k) => (k + 1 < alphas.length ? Math.sqrt(a * alphas[k + 1]) : a));
  const losses = new Array<number>(alphas.length).fill(0);
  for (const fold of folds) {
    const held = new Set(fold);
    const sequence = costComplexitySequence(
      grow(rows.filter((_, position) => !held.has(position))),
    );
    const checkRows = fold.map((position) => rows[position]);
    const sequenceLoss = sequence.map((step) => treeLoss(step.tree, data, checkRows));
    probes.forEach((probe, k) => {
      // The fold's optimal subtree at probe: the last in its sequence with alpha <= probe.
      let step = 0;
      while (step + 1 < sequence.length && sequence[step + 1].alpha <= probe + 1e-15) step += 1;
      losses[k] += sequenceLoss[step] * fold.length;
    });
  }
  let best = 0;
  // Later alphas prune more: on ties prefer the simpler tree.
  losses.forEach((loss, k) => {
    if (loss <= losses[best] + 1e-12) best = k;
  });
  return { alpha: alphas[best], loss: losses[best] / rows.length };
}

/**
 * Grows and prunes an ID3 or C4.5 tree: pessimistic pruning (with subtree raising) on the
 * training cases, or reduced-error pruning on a validation part held out from growing.
 */
export function trainMultiwayTree(
  data: AttributeData,
  rows: readonly number[],
  options: MultiwayGrowOptions & {
    pruning: TreePruning;
    confidenceFactor: number;
    validationSplit?: number;
    seed: number;
  },
  onProgress: (progress: TreeProgress) => void = () => undefined,
): MultiwayTree {
  const { growRows, validationRows } = pruningSplit(rows, options);
  const full = growMultiwayTree(data, growRows, options);
  const report = (stage: TreeProgress['stage'], tree: MultiwayTree) =>
    onProgress({
      stage,
      nodes: multiwayNodeCount(tree.root),
      leaves: multiwayLeafCount(tree.root),
      depth: multiwayDepth(tree.root),
    });
  report('grown', full);
  let pruned = full;
  if (options.pruning === 'pessimistic') {
    pruned = pessimisticPruneMultiway(full, data, growRows, options.confidenceFactor);
  } else if (options.pruning === 'reducedError') {
    pruned = reducedErrorPruneMultiway(full, data, validationRows);
  }
  report('pruned', pruned);
  return pruned;
}
