import type { PreprocessorState } from '../preprocessing/preprocessor.js';
import type { DecisionTree } from './decision-tree.js';
import type { MultiwayNode, MultiwayTree } from './multiway-tree.js';

export type TreeSplitDescription =
  | { kind: 'threshold'; threshold: number }
  /** One branch per category (ID3, C4.5). */
  | { kind: 'categories'; categories: string[] }
  /** CART's binary test of one category against the rest. */
  | { kind: 'category'; category: string };

export type TreeNodeDescription =
  | {
      type: 'leaf';
      samples: number;
      prediction: string | number;
      /** Classification: weight of each class among the training cases at the leaf. */
      distribution?: Record<string, number>;
    }
  | {
      type: 'split';
      feature: string;
      split: TreeSplitDescription;
      criterion: { name: TreeCriterionName; value: number };
      samples: number;
      distribution?: Record<string, number>;
      branches: { condition: string; node: TreeNodeDescription }[];
    };

export type TreeCriterionName =
  'informationGain' | 'gainRatio' | 'giniDecrease' | 'entropyDecrease' | 'varianceDecrease';

/** A trained tree as stored with its version and shown by the tree route. */
export interface TreeDescription {
  variant: 'id3' | 'c4.5' | 'cart';
  task: 'classification' | 'regression';
  criterion: TreeCriterionName;
  pruning: string;
  leaves: number;
  depth: number;
  root: TreeNodeDescription;
  /** One rule per leaf: `IF outlook = sunny AND humidity > 75 THEN no`. */
  rules: string[];
}

const round = (value: number) => Number(value.toPrecision(6));

function distributionOf(
  counts: readonly number[],
  classes: readonly string[],
): Record<string, number> {
  return Object.fromEntries(classes.map((name, c) => [name, round(counts[c] ?? 0)]));
}

function majority(counts: readonly number[]): number {
  let best = 0;
  for (let c = 1; c < counts.length; c += 1) if (counts[c] > counts[best]) best = c;
  return best;
}

function rulesOf(root: TreeNodeDescription): string[] {
  const rules: string[] = [];
  const walk = (node: TreeNodeDescription, path: string[]) => {
    if (node.type === 'leaf') {
      const condition = path.length > 0 ? path.join(' AND ') : 'TRUE';
      rules.push(`IF ${condition} THEN ${node.prediction}`);
      return;
    }
    for (const branch of node.branches) walk(branch.node, [...path, branch.condition]);
  };
  walk(root, []);
  return rules;
}

function measure(root: TreeNodeDescription): { leaves: number; depth: number } {
  if (root.type === 'leaf') return { leaves: 1, depth: 0 };
  const parts = root.branches.map((b) => measure(b.node));
  return {
    leaves: parts.reduce((sum, p) => sum + p.leaves, 0),
    depth: 1 + Math.max(...parts.map((p) => p.depth)),
  };
}

export function describeMultiwayTree(
  tree: MultiwayTree,
  state: PreprocessorState,
  classes: readonly string[],
  pruning: string,
): TreeDescription {
  const criterion: TreeCriterionName = tree.variant === 'id3' ? 'informationGain' : 'gainRatio';
  const visit = (node: MultiwayNode, parent: readonly number[]): TreeNodeDescription => {
    const own = node.samples > 1e-9 ? node.distribution : parent;
    const distribution = distributionOf(node.distribution, classes);
    const samples = round(node.samples);
    if (!node.split) {
      return { type: 'leaf', samples, prediction: classes[majority(own)], distribution };
    }
    const split = node.split;
    const feature = state.features[split.attribute];
    const value = tree.variant === 'id3' ? split.gain : split.gainRatio;
    const common = {
      type: 'split' as const,
      feature: feature.name,
      criterion: { name: criterion, value: round(value) },
      samples,
      distribution,
    };
    if (split.threshold !== undefined) {
      const t = round(split.threshold);
      return {
        ...common,
        split: { kind: 'threshold', threshold: t },
        branches: [
          { condition: `${feature.name} <= ${t}`, node: visit(node.children[0], own) },
          { condition: `${feature.name} > ${t}`, node: visit(node.children[1], own) },
        ],
      };
    }
    const categories = feature.type === 'categorical' ? feature.categories : [];
    return {
      ...common,
      split: { kind: 'categories', categories: [...categories] },
      branches: node.children.map((child, k) => ({
        condition: `${feature.name} = ${categories[k]}`,
        node: visit(child, own),
      })),
    };
  };
  const root = visit(tree.root, tree.root.distribution);
  return {
    variant: tree.variant,
    task: 'classification',
    criterion,
    pruning,
    ...measure(root),
    root,
    rules: rulesOf(root),
  };
}

/** A CART tree over the encoded features, told in the raw columns' terms. */
export function describeBinaryTree(
  tree: DecisionTree,
  state: PreprocessorState,
  classes: readonly string[] | null,
  criterion: TreeCriterionName,
  pruning: string,
): TreeDescription {
  const columns: { name: string; category?: string }[] = [];
  for (const feature of state.features) {
    if (feature.type === 'numeric') columns.push({ name: feature.name });
    else for (const category of feature.categories) columns.push({ name: feature.name, category });
  }
  const visit = (index: number): TreeNodeDescription => {
    const node = tree.nodes[index];
    const samples = round(node.samples);
    const distribution = classes ? distributionOf(node.value, classes) : undefined;
    if (node.feature < 0) {
      return {
        type: 'leaf',
        samples,
        prediction: classes ? classes[majority(node.value)] : round(node.value[0]),
        ...(distribution && { distribution }),
      };
    }
    const column = columns[node.feature];
    const common = {
      type: 'split' as const,
      feature: column.name,
      criterion: { name: criterion, value: round(node.criterionValue ?? 0) },
      samples,
      ...(distribution && { distribution }),
    };
    if (column.category !== undefined) {
      return {
        ...common,
        split: { kind: 'category', category: column.category },
        branches: [
          { condition: `${column.name} != ${column.category}`, node: visit(node.left) },
          { condition: `${column.name} = ${column.category}`, node: visit(node.right) },
        ],
      };
    }
    const t = round(node.threshold);
    return {
      ...common,
      split: { kind: 'threshold', threshold: t },
      branches: [
        { condition: `${column.name} <= ${t}`, node: visit(node.left) },
        { condition: `${column.name} > ${t}`, node: visit(node.right) },
      ],
    };
  };
  const root = visit(0);
  return {
    variant: 'cart',
    task: tree.kind,
    criterion,
    pruning,
    ...measure(root),
    root,
    rules: rulesOf(root),
  };
}
