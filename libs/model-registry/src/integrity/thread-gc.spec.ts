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

/**
 * A load as the model threads see it: 64 MiB (touched, so resident) arrive transferred, are
 * dropped, and the thread's collector runs (or not); the thread reports the process's resident
 * memory before and after.
 */
const LOAD_PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const collect = workerData.collect ? require(workerData.gcHelper).threadCollector() : () => undefined;
parentPort.on('message', (message) => {
  delete message.bytes;
  const before = process.memoryUsage.rss();
  collect();
  // (V8 returns the memory of collected ArrayBuffers from a background task, just after.)
  setTimeout(() => parentPort.postMessage({ before, after: process.memoryUsage.rss() }), 100);
});
`;

async function residentDropAfterLoad(collect: boolean): Promise<number> {
  const worker = new Worker(LOAD_PROGRAM, {
    eval: true,
    workerData: { gcHelper: THREAD_GC_HELPER, collect },
  });
  try {
    const bytes = new ArrayBuffer(64 * 1024 * 1024);
    new Uint8Array(bytes).fill(7);
    worker.postMessage({ bytes }, [bytes]);
    const { before, after } = await new Promise<{ before: number; after: number }>(
      (resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      },
    );
    return (before - after) / (1024 * 1024);
  } finally {
    await worker.terminate();
  }
}

describe('threadCollector (thread-gc.cjs)', () => {
  it("frees a load's transferred bytes at once (the collection after a load)", async () => {
    // Without the collector the 64 MiB stay resident; with it they are gone when it returns.
    expect(await residentDropAfterLoad(false)).toBeLessThan(16);
    expect(await residentDropAfterLoad(true)).toBeGreaterThan(48);
  });

  it('gives every thread its gc() even when threads take it at the same moment', async () => {
    expect(await takeGcInThreads(8, 200)).toEqual(Array(8).fill(200));
  });

  it('leaves --expose-gc cleared: a context made afterwards has no gc()', async () => {
    await takeGcInThreads(2, 10);
    const { runInNewContext } = await import('node:vm');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
