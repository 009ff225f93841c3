import { TrainingStoppedError } from '../training-stopped.js';

/**
 * ID3 and C4.5 as Quinlan defined them, on the raw attributes: a categorical attribute splits
 * into one branch per category, a numeric one at a threshold (`<= t` / `> t`, t a training
 * value). C4.5 handles missing values with fractional instances: the gain is computed on the
 * cases whose value is known and scaled by their share, and a case with an unknown value goes
 * down every branch with a weight proportional to the branch's known cases.
 */
export type TreeAttribute =
  | { name: string; type: 'numeric'; values: Float64Array /* NaN: missing */ }
  | {
      name: string;
      type: 'categorical';
      categories: string[];
      values: Int32Array; /* -1: missing */
    };

export interface AttributeData {
  attributes: TreeAttribute[];
  /** Class index per row. */
  y: Int32Array;
  classCount: number;
}

export interface MultiwaySplit {
  attribute: number;
  /** Numeric attributes: children[0] takes `<= threshold`, children[1] `> threshold`. */
  threshold?: number;
  gain: number;
  gainRatio: number;
  /** Weight of the known cases down each branch (routes unknowns, fractionally). */
  branchWeights: number[];
}

export interface MultiwayNode {
  /** Class weights of the (possibly fractional) training cases that reached the node. */
  distribution: number[];
  samples: number;
  split?: MultiwaySplit;
  children: MultiwayNode[];
}

export interface MultiwayTree {
  variant: 'id3' | 'c4.5';
  root: MultiwayNode;
  classCount: number;
}

export interface MultiwayGrowOptions {
  variant: 'id3' | 'c4.5';
  maxDepth: number;
  minSamplesLeaf: number;
  /** Pre-pruning: a split must gain more than this (bits of the ranking criterion's gain). */
  minGain: number;
  shouldStop?: () => boolean;
}

/** A case: row index and weight (< 1 once an unknown value sent it down several branches). */
export interface WeightedCase {
  row: number;
  weight: number;
}

const EPSILON = 1e-9;

function info(counts: readonly number[], total: number): number {
  if (total <= EPSILON) return 0;
  let h = 0;
  for (const count of counts) if (count > EPSILON) h -= (count / total) * Math.log2(count / total);
  return h;
}

function splitInfo(weights: readonly number[], total: number): number {
  return info(weights, total);
}

function classDistribution(data: AttributeData, cases: readonly WeightedCase[]): number[] {
  const counts = new Array<number>(data.classCount).fill(0);
  for (const c of cases) counts[data.y[c.row]] += c.weight;
  return counts;
}

/** Branch of a case at a split: an index, or -1 when the value is unknown. */
export function branchOf(data: AttributeData, split: MultiwaySplit, row: number): number {
  const attribute = data.attributes[split.attribute];
  if (attribute.type === 'categorical') return attribute.values[row];
  const value = attribute.values[row];
  if (Number.isNaN(value)) return -1;
  return value <= split.threshold! ? 0 : 1;
}

/** Cases down each branch, unknowns spread by the branch weights (C4.5's fractional cases). */
export function partition(
  data: AttributeData,
  split: MultiwaySplit,
  cases: readonly WeightedCase[],
): WeightedCase[][] {
  const parts = split.branchWeights.map((): WeightedCase[] => []);
  const known = split.branchWeights.reduce((a, b) => a + b, 0);
  for (const c of cases) {
    const branch = branchOf(data, split, c.row);
    if (branch >= 0) {
      parts[branch].push(c);
    } else if (known > EPSILON) {
      split.branchWeights.forEach((w, b) => {
        if (w > EPSILON) parts[b].push({ row: c.row, weight: (c.weight * w) / known });
      });
    }
  }
  return parts;
}

/** The information gain and gain ratio of splitting cases on a categorical attribute. */
export function categoricalGain(
  data: AttributeData,
  attributeIndex: number,
  cases: readonly WeightedCase[],
): { gain: number; gainRatio: number; branchWeights: number[]; branchCounts: number[][] } {
  const attribute = data.attributes[attributeIndex];
  if (attribute.type !== 'categorical') throw new Error('categoricalGain on a numeric attribute');
  const k = attribute.categories.length;
  const branchCounts = Array.from({ length: k }, () => new Array<number>(data.classCount).fill(0));
  const branchWeights = new Array<number>(k).fill(0);
  let total = 0;
  let unknown = 0;
  const knownCounts = new Array<number>(data.classCount).fill(0);
  for (const c of cases) {
    total += c.weight;
    const v = attribute.values[c.row];
    if (v < 0) {
      unknown += c.weight;
      continue;
    }
    branchCounts[v][data.y[c.row]] += c.weight;
    branchWeights[v] += c.weight;
    knownCounts[data.y[c.row]] += c.weight;
  }
  const known = total - unknown;
  if (known <= EPSILON) return { gain: 0, gainRatio: 0, branchWeights, branchCounts };
  let remainder = 0;
  for (let b = 0; b < k; b += 1)
    remainder += (branchWeights[b] / known) * info(branchCounts[b], branchWeights[b]);
  const gain = (known / total) * (info(knownCounts, known) - remainder);
  // Unknowns count as one more outcome in the split information (Quinlan 1993, ch. 3).
  const split = splitInfo(unknown > EPSILON ? [...branchWeights, unknown] : branchWeights, total);
  return { gain, gainRatio: split > EPSILON ? gain / split : 0, branchWeights, branchCounts };
}

/**
 * The best threshold of a numeric attribute by information gain, thresholds being training
 * values (`<= v`). C4.5 subtracts log2(candidate thresholds) / cases from the gain (Quinlan
 * 1996's MDL correction); ID3 does not.
 */
export function thresholdGain(
  data: AttributeData,
  attributeIndex: number,
  cases: readonly WeightedCase[],
  options: { minSamplesLeaf: number; mdl: boolean },
): { gain: number; gainRatio: number; threshold: number; branchWeights: number[] } | null {
  const attribute = data.attributes[attributeIndex];
  if (attribute.type !== 'numeric') throw new Error('thresholdGain on a categorical attribute');
  let total = 0;
  const knownCases: WeightedCase[] = [];
  for (const c of cases) {
    total += c.weight;
    if (!Number.isNaN(attribute.values[c.row])) knownCases.push(c);
  }
  knownCases.sort((a, b) => attribute.values[a.row] - attribute.values[b.row]);
  const knownCounts = classDistribution(data, knownCases);
  const known = knownCounts.reduce((a, b) => a + b, 0);
  if (known <= EPSILON) return null;
  const baseInfo = info(knownCounts, known);
  const left = new Array<number>(data.classCount).fill(0);
  const right = [...knownCounts];
  let leftWeight = 0;
  let candidates = 0;
  let best: { gain: number; threshold: number; leftWeight: number } | null = null;
  for (let k = 0; k < knownCases.length - 1; k += 1) {
    const c = knownCases[k];
    left[data.y[c.row]] += c.weight;
    right[data.y[c.row]] -= c.weight;
    leftWeight += c.weight;
    const here = attribute.values[c.row];
    if (here === attribute.values[knownCases[k + 1].row]) continue;
    candidates += 1;
    const rightWeight = known - leftWeight;
    if (leftWeight < options.minSamplesLeaf || rightWeight < options.minSamplesLeaf) continue;
    const remainder =
      (leftWeight / known) * info(left, leftWeight) +
      (rightWeight / known) * info(right, rightWeight);
    const gain = baseInfo - remainder;
    if (!best || gain > best.gain + EPSILON) best = { gain, threshold: here, leftWeight };
  }
  if (!best) return null;
  // Quinlan: the threshold is the largest value of the attribute in the whole training set that
  // does not exceed the midpoint, so the rules read in the data's own values.
  const next =
    attribute.values[knownCases.find((c) => attribute.values[c.row] > best!.threshold)!.row];
  const midpoint = (best.threshold + next) / 2;
  let threshold = best.threshold;
  for (const v of attribute.values) if (v <= midpoint && v > threshold) threshold = v;
  const unknown = total - known;
  let gain = (known / total) * best.gain;
  if (options.mdl) gain -= Math.log2(Math.max(1, candidates)) / total;
  const branchWeights = [best.leftWeight, known - best.leftWeight];
  const split = splitInfo(unknown > EPSILON ? [...branchWeights, unknown] : branchWeights, total);
  return {
    gain,
    gainRatio: split > EPSILON ? gain / split : 0,
    threshold,
    branchWeights,
  };
}

/**
 * The split ID3 or C4.5 chooses at a node: ID3 the largest information gain; C4.5 the largest
 * gain ratio among the attributes whose gain is at least the average gain of the candidates.
 */
export function chooseSplit(
  data: AttributeData,
  cases: readonly WeightedCase[],
  options: Pick<MultiwayGrowOptions, 'variant' | 'minSamplesLeaf'>,
): MultiwaySplit | null {
  const candidates: MultiwaySplit[] = [];
  data.attributes.forEach((attribute, index) => {
    if (attribute.type === 'categorical') {
      const result = categoricalGain(data, index, cases);
      // At least two branches must hold minSamplesLeaf cases (C4.5's MINOBJS rule).
      const viable = result.branchWeights.filter(
        (w) => w >= options.minSamplesLeaf - EPSILON && w > EPSILON,
      ).length;
      if (viable < 2) return;
      candidates.push({
        attribute: index,
        gain: result.gain,
        gainRatio: result.gainRatio,
        branchWeights: result.branchWeights,
      });
    } else {
      const result = thresholdGain(data, index, cases, {
        minSamplesLeaf: options.minSamplesLeaf,
        mdl: options.variant === 'c4.5',
      });
      if (result) candidates.push({ attribute: index, ...result });
    }
  });
  const useful = candidates.filter((c) => c.gain > EPSILON);
  if (useful.length === 0) return null;
  if (options.variant === 'id3') {
    return useful.reduce((best, c) => (c.gain > best.gain + EPSILON ? c : best));
  }
  const average = useful.reduce((sum, c) => sum + c.gain, 0) / useful.length;
  const pool = useful.filter((c) => c.gain >= average - EPSILON);
  return pool.reduce((best, c) => (c.gainRatio > best.gainRatio + EPSILON ? c : best));
}

/** Grows an ID3 or C4.5 tree (no pruning). */
export function growMultiwayTree(
  data: AttributeData,
  rows: readonly number[],
  options: MultiwayGrowOptions,
): MultiwayTree {
  const minLeaf = Math.max(1, options.minSamplesLeaf);
  const build = (cases: WeightedCase[], depth: number): MultiwayNode => {
    if (options.shouldStop?.()) throw new TrainingStoppedError();
    const distribution = classDistribution(data, cases);
    const samples = distribution.reduce((a, b) => a + b, 0);
    const node: MultiwayNode = { distribution, samples, children: [] };
    const pure = distribution.filter((w) => w > EPSILON).length <= 1;
    if (pure || depth >= options.maxDepth || samples < 2 * minLeaf) return node;
    const split = chooseSplit(data, cases, { variant: options.variant, minSamplesLeaf: minLeaf });
    const criterion = split && (options.variant === 'id3' ? split.gain : split.gainRatio);
    if (!split || criterion! <= options.minGain) return node;
    node.split = split;
    node.children = partition(data, split, cases).map((part) =>
      part.length === 0
        ? // An empty branch: a leaf with no cases (it predicts the parent's distribution).
          { distribution: new Array<number>(data.classCount).fill(0), samples: 0, children: [] }
        : build(part, depth + 1),
    );
    return node;
  };
  return {
    variant: options.variant,
    root: build(
      rows.map((row) => ({ row, weight: 1 })),
      0,
    ),
    classCount: data.classCount,
  };
}

export function multiwayLeafCount(node: MultiwayNode): number {
  return node.split ? node.children.reduce((sum, c) => sum + multiwayLeafCount(c), 0) : 1;
}

export function multiwayDepth(node: MultiwayNode): number {
  return node.split ? 1 + Math.max(...node.children.map(multiwayDepth)) : 0;
}

export function multiwayNodeCount(node: MultiwayNode): number {
  return 1 + node.children.reduce((sum, c) => sum + multiwayNodeCount(c), 0);
}
