import { describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
import { leafCount, predictTree, treeDataFrom } from './decision-tree.js';
import {
  costComplexityPath,
  costComplexityPrune,
  pessimisticExtraErrors,
  pessimisticPrune,
} from './pruning.js';
import { growTree } from './tree-builder.js';
import { trainDecisionTree } from './train-tree.js';

/** y = (x0 > 0.5), with 15% of labels flipped: a full tree memorises the noise. */
function noisy(n: number, seed: number) {
  const random = seededRandom(seed);
  const rows: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const x = Float32Array.from([random(), random(), random()]);
    rows.push(x);
    const clean = x[0] > 0.5 ? 1 : 0;
    y.push(random() < 0.15 ? 1 - clean : clean);
  }
  return { data: treeDataFrom(rows, y), all: rows.map((_, i) => i) };
}

describe('tree pruning', () => {
  it("computes C4.5's pessimistic extra errors like Quinlan's tables", () => {
    // A pure leaf of 6 cases at CF 0.25: 6 · (1 − 0.25^(1/6)) ≈ 1.24 estimated errors.
    expect(pessimisticExtraErrors(6, 0, 0.25)).toBeCloseTo(1.2378, 3);
    // More cases, same error rate: a tighter bound.
    expect(pessimisticExtraErrors(100, 10, 0.25) / 100).toBeLessThan(
      pessimisticExtraErrors(10, 1, 0.25) / 10,
    );
  });

  it('pessimistic pruning removes the branches that only fit noise', () => {
    const { data, all } = noisy(400, 1);
    const full = growTree(data, all, 'classification', 2, {
      criterion: 'entropy',
      maxDepth: 30,
      minSamplesLeaf: 1,
    });
    const pruned = pessimisticPrune(full, 0.25);
    expect(leafCount(pruned)).toBeLessThan(leafCount(full) * 0.6);
    expect(predictTree(pruned, [0.9, 0.5, 0.5])[1]).toBeGreaterThan(0.5);
    expect(predictTree(pruned, [0.1, 0.5, 0.5])[0]).toBeGreaterThan(0.5);
  });

  it('cost-complexity pruning follows the weakest-link path down to the root', () => {
    const { data, all } = noisy(300, 2);
    const full = growTree(data, all, 'classification', 2, {
      criterion: 'gini',
      maxDepth: 30,
      minSamplesLeaf: 1,
    });
    const alphas = costComplexityPath(full);
    expect(alphas[0]).toBe(0);
    for (let i = 1; i < alphas.length; i += 1)
      expect(alphas[i]).toBeGreaterThanOrEqual(alphas[i - 1]);
    expect(leafCount(costComplexityPrune(full, alphas[alphas.length - 1]))).toBe(1);
    const chosen = trainDecisionTree(data, all, 'classification', 2, {
      criterion: 'gini',
      maxDepth: 30,
      minSamplesLeaf: 1,
      pruning: 'costComplexity',
      confidenceFactor: 0.25,
      seed: 3,
    });
    expect(leafCount(chosen)).toBeLessThan(leafCount(full));
    expect(leafCount(chosen)).toBeGreaterThanOrEqual(2);
  });

  it('respects maxDepth and minSamplesLeaf', () => {
    const { data, all } = noisy(200, 4);
    const shallow = growTree(data, all, 'classification', 2, {
      criterion: 'entropy',
      maxDepth: 2,
      minSamplesLeaf: 1,
    });
    expect(leafCount(shallow)).toBeLessThanOrEqual(4);
    const chunky = growTree(data, all, 'classification', 2, {
      criterion: 'gini',
      maxDepth: 30,
      minSamplesLeaf: 25,
    });
    expect(chunky.nodes.filter((n) => n.feature < 0).every((n) => n.samples >= 25)).toBe(true);
  });
});
