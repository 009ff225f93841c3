import { describe, expect, it } from 'vitest';
import { TrainingStoppedError } from '../training-stopped.js';
import { treeDataFrom } from './decision-tree.js';
import { growTree } from './tree-builder.js';

// Two interleaved classes along one feature: every split leaves more to split.
const rows = Array.from({ length: 64 }, (_, i) => Float32Array.of(i));
const data = treeDataFrom(
  rows,
  rows.map((_, i) => Math.floor(i / 2) % 2),
);
const all = rows.map((_, i) => i);
const options = { criterion: 'gini' as const, maxDepth: 20, minSamplesLeaf: 1 };

describe('growTree', () => {
  it('grows the whole tree when nothing asks it to stop', () => {
    const tree = growTree(data, all, 'classification', 2, { ...options, shouldStop: () => false });
    expect(tree.nodes.length).toBeGreaterThan(10);
  });

  it('stops between nodes as soon as shouldStop says so', () => {
    let asked = 0;
    expect(() =>
      growTree(data, all, 'classification', 2, { ...options, shouldStop: () => ++asked > 3 }),
    ).toThrow(TrainingStoppedError);
    expect(asked).toBe(4);
  });
});
