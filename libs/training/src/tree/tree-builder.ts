import type { DecisionTree, TreeData, TreeGrowOptions, TreeNode } from './decision-tree.js';
import { TrainingStoppedError } from '../training-stopped.js';

const LOG2 = Math.log(2);

function entropyOf(counts: ArrayLike<number>, total: number): number {
  if (total <= 0) return 0;
  let h = 0;
  for (let c = 0; c < counts.length; c += 1) {
    const p = counts[c] / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return h / LOG2;
}

function giniOf(counts: ArrayLike<number>, total: number): number {
  if (total <= 0) return 0;
  let sum = 0;
  for (let c = 0; c < counts.length; c += 1) sum += (counts[c] / total) ** 2;
  return 1 - sum;
}

interface Split {
  feature: number;
  threshold: number;
  /** What the criterion ranks (higher is better). */
  score: number;
  /** C4.5: information gain, for the "at least average gain" rule. */
  gain: number;
}

/**
 * Grows a tree top-down. CART (gini, entropy, variance) takes the split with the largest
 * impurity decrease; C4.5 (gainRatio) takes, among splits whose information gain is at least
 * the average, the one with the best gain ratio, with Quinlan's MDL correction for continuous
 * thresholds (log2(candidate thresholds) / n subtracted from the gain).
 */
export function growTree(
  data: TreeData,
  indices: readonly number[],
  kind: 'classification' | 'regression',
  classCount: number,
  options: TreeGrowOptions,
): DecisionTree {
  const nodes: TreeNode[] = [];
  const width = data.columns.length;
  const minLeaf = Math.max(1, options.minSamplesLeaf);

  const summarize = (rows: readonly number[]): { value: number[]; sse: number } => {
    if (kind === 'classification') {
      const counts = new Array<number>(classCount).fill(0);
      for (const i of rows) counts[data.y[i]] += 1;
      return { value: counts, sse: 0 };
    }
    let sum = 0;
    let squares = 0;
    for (const i of rows) {
      sum += data.y[i];
      squares += data.y[i] * data.y[i];
    }
    const mean = rows.length > 0 ? sum / rows.length : 0;
    return { value: [mean], sse: Math.max(0, squares - rows.length * mean * mean) };
  };

  const bestSplit = (rows: number[], parent: { value: number[]; sse: number }): Split | null => {
    const n = rows.length;
    const candidates: Split[] = [];
    const parentImpurity =
      kind === 'regression'
        ? parent.sse
        : options.criterion === 'gini'
          ? giniOf(parent.value, n)
          : entropyOf(parent.value, n);
    const order = new Int32Array(n);
    for (let feature = 0; feature < width; feature += 1) {
      const column = data.columns[feature];
      for (let k = 0; k < n; k += 1) order[k] = rows[k];
      order.sort((a, b) => column[a] - column[b]);
      if (column[order[0]] === column[order[n - 1]]) continue;
      let distinctThresholds = 0;
      for (let k = 1; k < n; k += 1)
        if (column[order[k]] !== column[order[k - 1]]) distinctThresholds += 1;

      let best: Split | null = null;
      const leftCounts = new Float64Array(classCount);
      const rightCounts = Float64Array.from(parent.value.length === classCount ? parent.value : []);
      let leftSum = 0;
      let leftSquares = 0;
      let totalSum = 0;
      let totalSquares = 0;
      if (kind === 'regression') {
        for (const i of rows) {
          totalSum += data.y[i];
          totalSquares += data.y[i] * data.y[i];
        }
      }
      for (let k = 0; k < n - 1; k += 1) {
        const i = order[k];
        const y = data.y[i];
        if (kind === 'classification') {
          leftCounts[y] += 1;
          rightCounts[y] -= 1;
        } else {
          leftSum += y;
          leftSquares += y * y;
        }
        const nLeft = k + 1;
        const nRight = n - nLeft;
        const here = column[i];
        const next = column[order[k + 1]];
        if (here === next || nLeft < minLeaf || nRight < minLeaf) continue;
        let gain: number;
        let score: number;
        if (kind === 'regression') {
          const rightSum = totalSum - leftSum;
          const rightSquares = totalSquares - leftSquares;
          const sse =
            leftSquares -
            (leftSum * leftSum) / nLeft +
            (rightSquares - (rightSum * rightSum) / nRight);
          // The decrease of variance (per case), so minGain does not depend on the node size.
          gain = (parentImpurity - sse) / n;
          score = gain;
        } else if (options.criterion === 'gini') {
          const impurity =
            (nLeft * giniOf(leftCounts, nLeft) + nRight * giniOf(rightCounts, nRight)) / n;
          gain = parentImpurity - impurity;
          score = gain;
        } else {
          const impurity =
            (nLeft * entropyOf(leftCounts, nLeft) + nRight * entropyOf(rightCounts, nRight)) / n;
          gain = parentImpurity - impurity;
          score = gain;
        }
        if (!best || score > best.score) {
          let threshold = Math.fround((here + next) / 2);
          if (!(threshold >= here && threshold < next)) threshold = here;
          best = { feature, threshold, score, gain };
        }
      }
      if (!best) continue;
      if (options.criterion === 'gainRatio') {
        // C4.5: the threshold is chosen by gain; the attribute by gain ratio.
        const corrected = best.gain - Math.log2(Math.max(1, distinctThresholds)) / n;
        if (corrected <= 0) continue;
        let nLeft = 0;
        for (const i of rows) if (data.columns[best.feature][i] <= best.threshold) nLeft += 1;
        const pl = nLeft / n;
        const splitInfo = -(pl * Math.log2(pl) + (1 - pl) * Math.log2(1 - pl));
        candidates.push({ ...best, gain: corrected, score: corrected / splitInfo });
      } else {
        candidates.push(best);
      }
    }
    if (candidates.length === 0) return null;
    let pool = candidates;
    if (options.criterion === 'gainRatio') {
      const average = candidates.reduce((sum, c) => sum + c.gain, 0) / candidates.length;
      pool = candidates.filter((c) => c.gain >= average - 1e-12);
    }
    let best = pool[0];
    for (const candidate of pool) if (candidate.score > best.score) best = candidate;
    return best.gain > 1e-12 ? best : null;
  };

  const build = (rows: number[], depth: number): number => {
    if (options.shouldStop?.()) throw new TrainingStoppedError();
    const summary = summarize(rows);
    const id = nodes.length;
    nodes.push({
      feature: -1,
      threshold: 0,
      left: -1,
      right: -1,
      samples: rows.length,
      value: summary.value,
      sse: summary.sse,
    });
    const pure =
      kind === 'classification'
        ? summary.value.filter((count) => count > 0).length <= 1
        : summary.sse <= 1e-12;
    if (pure || depth >= options.maxDepth || rows.length < 2 * minLeaf) return id;
    const split = bestSplit(rows, summary);
    if (!split || split.score <= (options.minGain ?? 0)) return id;
    const column = data.columns[split.feature];
    const leftRows = rows.filter((i) => column[i] <= split.threshold);
    const rightRows = rows.filter((i) => column[i] > split.threshold);
    nodes[id].feature = split.feature;
    nodes[id].threshold = split.threshold;
    nodes[id].criterionValue = split.score;
    nodes[id].left = build(leftRows, depth + 1);
    nodes[id].right = build(rightRows, depth + 1);
    return id;
  };

  build([...indices], 0);
  return { kind, nodes, classCount };
}
