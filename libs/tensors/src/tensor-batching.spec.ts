import { describe, expect, it } from 'vitest';
import { concatTensors, splitTensor } from './tensor-batching.js';
import type { Tensor } from './tensor.js';
import { TensorError } from './tensor.error.js';

const rows = (name: string, count: number, start: number): Tensor => ({
  name,
  datatype: 'FP32',
  shape: [count, 2],
  data: Float32Array.from({ length: count * 2 }, (_, i) => start + i),
});

describe('concatTensors / splitTensor', () => {
  it('concatenates along dim 0 and splits back into the same pieces', () => {
    const a = rows('x', 1, 0);
    const b = rows('x', 3, 100);
    const joined = concatTensors([a, b]);
    expect(joined.shape).toEqual([4, 2]);
    expect(Array.from(joined.data as Float32Array)).toEqual([0, 1, 100, 101, 102, 103, 104, 105]);
    const [left, right] = splitTensor(joined, [1, 3]);
    expect(left).toEqual(a);
    expect(right).toEqual(b);
  });

  it('handles INT64 and BYTES, including mixed strings and raw bytes', () => {
    const joined = concatTensors([
      { name: 'i', datatype: 'INT64', shape: [1], data: BigInt64Array.of(2n ** 60n) },
      { name: 'i', datatype: 'INT64', shape: [2], data: BigInt64Array.of(-1n, 3n) },
    ]);
    expect(joined.data).toEqual(BigInt64Array.of(2n ** 60n, -1n, 3n));
    const bytes = concatTensors([
      { name: 's', datatype: 'BYTES', shape: [1], data: ['a'] },
      { name: 's', datatype: 'BYTES', shape: [1], data: [Buffer.of(0xff)] },
    ]);
    expect(bytes.data).toEqual([Buffer.from('a'), Buffer.of(0xff)]);
    expect(splitTensor(bytes, [0, 2]).map((piece) => piece.shape)).toEqual([[0], [2]]);
  });

  it('splits into views of the original memory', () => {
    const joined = rows('x', 2, 0);
    const [first] = splitTensor(joined, [1, 1]);
    (joined.data as Float32Array)[0] = 42;
    expect((first?.data as Float32Array)[0]).toBe(42);
  });

  it('rejects mismatched tensors and row counts, naming the tensor', () => {
    expect(() => concatTensors([rows('x', 1, 0), { ...rows('x', 1, 0), shape: [2, 1] }])).toThrow(
      new TensorError("tensor 'x': cannot concatenate shape [1,2] with [2,1] along dim 0"),
    );
    expect(() =>
      concatTensors([
        rows('x', 1, 0),
        { ...rows('x', 1, 0), datatype: 'FP64', data: new Float64Array(2) },
      ]),
    ).toThrow("tensor 'x': cannot concatenate datatype FP32 with FP64");
    expect(() => concatTensors([])).toThrow('cannot concatenate an empty list of tensors');
    expect(() => splitTensor(rows('x', 3, 0), [1, 1])).toThrow(
      "tensor 'x': row counts add up to 2 but dim 0 of [3,2] is 3",
    );
    expect(() => splitTensor(rows('x', 3, 0), [4, -1])).toThrow(
      "tensor 'x': row counts must be non-negative integers, got -1",
    );
  });
});
