/** 32-bit FNV-1a of a string, then a final avalanche so close keys spread apart. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Highest-random-weight (rendezvous) order of `nodes` for `key`: the first is the key's home,
 * the rest its failover order. Removing a node only moves the keys that lived on it.
 */
export function rendezvousOrder<T>(
  key: string,
  nodes: readonly T[],
  idOf: (node: T) => string,
): T[] {
  return nodes
    .map((node) => ({ node, score: hash32(`${idOf(node)}\u0000${key}`) }))
    .sort((a, b) => b.score - a.score || (idOf(a.node) < idOf(b.node) ? -1 : 1))
    .map((entry) => entry.node);
}
