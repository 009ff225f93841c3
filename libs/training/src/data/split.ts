import { seededRandom } from '@maas/onnx';

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function shuffledIndices(n: number, seed: number): number[] {
  const random = seededRandom(seed);
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices;
}

/** Seeded train/test split of row indices; the test part holds at least one row. */
export function trainTestSplit(
  n: number,
  testFraction: number,
  seed: number,
): { train: number[]; test: number[] } {
  const order = shuffledIndices(n, seed);
  const testSize = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  return { test: order.slice(0, testSize), train: order.slice(testSize) };
}
