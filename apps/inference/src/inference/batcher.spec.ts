import type { Tensor } from '@maas/tensors';
import { describe, expect, it } from 'vitest';
import { Batcher, type BatcherOptions } from './batcher.js';

const options = (overrides: Partial<BatcherOptions> = {}): BatcherOptions => ({
  maxBatchSize: 64,
  maxQueueDelayMs: 0,
  concurrency: 1,
  maxQueue: 100,
  queueTimeoutMs: 5000,
  batchable: true,
  ...overrides,
});

const rows = (values: number[][]): Tensor => ({
  name: 'x',
  datatype: 'FP32',
  shape: [values.length, values[0]!.length],
  data: new Float32Array(values.flat()),
});

/** A "model" that doubles its input, recording the batch sizes it was called with. */
function doubler(calls: number[], delayMs = 5) {
  return async (inputs: Tensor[]): Promise<Tensor[]> => {
    const x = inputs[0]!;
    calls.push(x.shape[0]!);
    await new Promise((r) => setTimeout(r, delayMs));
    const data = Float32Array.from(x.data as Float32Array, (v) => v * 2);
    return [{ name: 'y', datatype: 'FP32', shape: x.shape.slice(), data }];
  };
}

describe('Batcher', () => {
  it('stacks concurrent requests into one call and splits the answers back', async () => {
    const calls: number[] = [];
    const batcher = new Batcher(options({ maxQueueDelayMs: 20 }), doubler(calls));
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => batcher.submit([rows([[n, n]])], ['y'])),
    );
    expect(calls).toEqual([4]);
    results.forEach((result, i) => {
      expect([...(result.outputs[0]!.data as Float32Array)]).toEqual([(i + 1) * 2, (i + 1) * 2]);
      expect(result.batchRows).toBe(4);
    });
  });

  it('opportunistically batches what queued while a call ran, up to maxBatchSize rows', async () => {
    const calls: number[] = [];
    const batcher = new Batcher(options({ maxBatchSize: 3 }), doubler(calls));
    await Promise.all(Array.from({ length: 7 }, (_, n) => batcher.submit([rows([[n, 0]])], ['y'])));
    // First arrives alone; the rest wait for it and go in groups of at most 3.
    expect(calls[0]).toBe(1);
    expect(calls.every((c) => c <= 3)).toBe(true);
    expect(calls.reduce((a, b) => a + b)).toBe(7);
  });

  it('never stacks requests whose non-batch dims differ, or for a non-batchable model', async () => {
    const calls: number[] = [];
    const batcher = new Batcher(options({ maxQueueDelayMs: 10 }), doubler(calls));
    await Promise.all([
      batcher.submit([rows([[1, 2]])], ['y']),
      batcher.submit([rows([[1, 2, 3]])], ['y']),
    ]);
    expect(calls.sort()).toEqual([1, 1]);
    const fixed: number[] = [];
    const unbatched = new Batcher(
      options({ batchable: false, maxQueueDelayMs: 10 }),
      doubler(fixed),
    );
    await Promise.all([1, 2, 3].map((n) => unbatched.submit([rows([[n, n]])], ['y'])));
    expect(fixed).toEqual([1, 1, 1]);
  });

  it('sheds with RESOURCE_EXHAUSTED and a Retry-After once the queue is full', async () => {
    const batcher = new Batcher(options({ batchable: false, maxQueue: 2 }), doubler([], 50));
    const running = batcher.submit([rows([[1, 1]])], ['y']);
    const queued = [
      batcher.submit([rows([[2, 2]])], ['y']),
      batcher.submit([rows([[3, 3]])], ['y']),
    ];
    await expect(batcher.submit([rows([[4, 4]])], ['y'])).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      retryAfterSeconds: 1,
    });
    await Promise.all([running, ...queued]);
  });

  it('fails a request still queued past its deadline with DEADLINE_EXCEEDED', async () => {
    const batcher = new Batcher(
      options({ batchable: false, queueTimeoutMs: 30 }),
      doubler([], 100),
    );
    const first = batcher.submit([rows([[1, 1]])], ['y']);
    await expect(batcher.submit([rows([[2, 2]])], ['y'])).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    await first;
  });

  it('answers each request alone when a stacked call fails', async () => {
    const batcher = new Batcher(options({ maxQueueDelayMs: 20 }), async (inputs) => {
      const x = inputs[0]!;
      if ([...(x.data as Float32Array)].includes(-1)) throw new Error('bad value');
      return [{ name: 'y', datatype: 'FP32', shape: x.shape.slice(), data: x.data }];
    });
    const [good, bad] = await Promise.allSettled([
      batcher.submit([rows([[1, 1]])], ['y']),
      batcher.submit([rows([[-1, 1]])], ['y']),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
  });
});
