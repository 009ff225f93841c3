import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { THREAD_GC_HELPER } from './unseal-thread.js';

/**
 * Threads that take gc() at the same moment, as a worker's model threads and artifact thread do
 * when they start together: each sets and clears the V8-wide `--expose-gc` around its own context,
 * so one thread's clear can fall between another's set and context. Each takes gc() `rounds`
 * times and reports how often it got one.
 */
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const { threadCollector } = require(workerData.gcHelper);
let got = 0;
for (let round = 0; round < workerData.rounds; round += 1) {
  const collect = threadCollector();
  if (typeof collect === 'function' && collect.name === 'gc') got += 1;
}
threadCollector()();
parentPort.postMessage(got);
`;

function takeGcInThreads(threads: number, rounds: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: threads }, async () => {
      const worker = new Worker(PROGRAM, {
        eval: true,
        workerData: { gcHelper: THREAD_GC_HELPER, rounds },
      });
      const got = await new Promise<number>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await worker.terminate();
      return got;
    }),
  );
}

describe('threadCollector (thread-gc.cjs)', () => {
  it('gives every thread its gc() even when threads take it at the same moment', async () => {
    expect(await takeGcInThreads(8, 200)).toEqual(Array(8).fill(200));
  });

  it('leaves --expose-gc cleared: a context made afterwards has no gc()', async () => {
    await takeGcInThreads(2, 10);
    const { runInNewContext } = await import('node:vm');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
