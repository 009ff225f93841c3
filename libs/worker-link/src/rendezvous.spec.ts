import { describe, expect, it } from 'vitest';
import { rendezvousOrder } from './rendezvous.js';

const ids = (nodes: string[]) => nodes;
const self = (id: string) => id;

describe('rendezvousOrder', () => {
  it('gives every key the same order each time, whatever order the nodes come in', () => {
    const nodes = ['w1', 'w2', 'w3', 'w4'];
    for (let k = 0; k < 50; k++) {
      const key = `version-${k}`;
      expect(rendezvousOrder(key, nodes, self)).toEqual(
        rendezvousOrder(key, [...nodes].reverse(), self),
      );
      expect(new Set(rendezvousOrder(key, nodes, self))).toEqual(new Set(ids(nodes)));
    }
  });

  it('spreads keys over the nodes', () => {
    const nodes = ['w1', 'w2', 'w3', 'w4'];
    const homes = new Map<string, number>();
    for (let k = 0; k < 4000; k++) {
      const home = rendezvousOrder(`v-${k}`, nodes, self)[0]!;
      homes.set(home, (homes.get(home) ?? 0) + 1);
    }
    for (const node of nodes) expect(homes.get(node)).toBeGreaterThan(800);
  });

  it('moves only the keys of a removed node, each to its next choice', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'];
    const without = nodes.filter((n) => n !== 'c');
    for (let k = 0; k < 1000; k++) {
      const key = `k${k}`;
      const before = rendezvousOrder(key, nodes, self);
      const after = rendezvousOrder(key, without, self);
      expect(after).toEqual(before.filter((n) => n !== 'c'));
    }
  });
});
