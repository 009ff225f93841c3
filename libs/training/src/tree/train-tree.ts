import { trainTestSplit } from '../data/split.js';
import {
  compactTree,
  type DecisionTree,
  leafCount,
  type TreeData,
  type TreeOptions,
  treeDepth,
} from './decision-tree.js';
import { costComplexityPath, costComplexityPrune, pessimisticPrune, treeLoss } from './pruning.js';
import { growTree } from './tree-builder.js';

export interface TreeProgress {
  stage: 'grown' | 'pruned';
  nodes: number;
  leaves: number;
  depth: number;
  ccpAlpha?: number;
  validationLoss?: number;
}

/**
 * Grows and prunes a tree on the given rows. Cost-complexity pruning without an explicit
 * ccpAlpha picks it on an internal validation split (a quarter of the rows): grow on the rest,
 * score every subtree of the weakest-link sequence, keep the alpha of the best (the simplest
 * on ties), then grow on all rows and prune at that alpha.
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
    growTree(data, subset, kind, kind === 'classification' ? classCount : 0, options);
  const full = compactTree(grow(rows));
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
  } else if (options.pruning === 'costComplexity') {
    chosenAlpha = options.ccpAlpha;
    if (chosenAlpha === undefined) {
      if (rows.length >= 8) {
        const split = trainTestSplit(rows.length, 0.25, options.seed + 1);
        const growRows = split.train.map((k) => rows[k]);
        const checkRows = split.test.map((k) => rows[k]);
        const candidate = compactTree(grow(growRows));
        let bestLoss = Infinity;
        chosenAlpha = 0;
        for (const alpha of costComplexityPath(candidate)) {
          const loss = treeLoss(costComplexityPrune(candidate, alpha), data, checkRows);
          if (loss <= bestLoss + 1e-12) {
            bestLoss = Math.min(bestLoss, loss);
            if (loss <= bestLoss) chosenAlpha = alpha;
          }
        }
        validationLoss = bestLoss;
      } else {
        chosenAlpha = 0;
      }
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
