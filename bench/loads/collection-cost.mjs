// What freeing a load's bytes costs a model thread (run by hand; no services needed): a worker
// thread receives a model's bytes (64 MiB by default), transferred as the inference worker's
// model threads and artifact thread receive them, drops them, and collects: alternately with
// the full collection those threads run after each load (thread-gc.cjs) and with a
// young-generation one (cheaper; tried in their place and not kept: a test process running
// model threads with it exited unexpectedly once). Prints the process's CPU per collection
// (V8's helper threads included) and whether the bytes left resident memory.
//
//   node bench/loads/collection-cost.mjs [rounds per kind = 50] [MiB = 64]
//
// (Below glibc's mmap threshold, which grows to 32 MiB once such blocks are freed, freed bytes
// stay in the allocator for reuse instead of leaving resident memory: the CPU figure holds, the
// resident one reads ~0 for both.)
import { Worker } from 'node:worker_threads';

const rounds = Number(process.argv[2] ?? 50);
const mib = Number(process.argv[3] ?? 64);
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
setFlagsFromString('--no-expose-gc');
parentPort.on('message', async (message) => {
  delete message.bytes;
  await new Promise((resolve) => setImmediate(resolve)); // as after a load's await
  const rss = process.memoryUsage.rss();
  const before = process.cpuUsage();
  if (message.kind === 'young') gc({ type: 'minor' });
  else gc();
  const spent = process.cpuUsage(before);
  // (V8 returns collected ArrayBuffers' memory from a background task, just after.)
  setTimeout(() => parentPort.postMessage({
    cpuMs: (spent.user + spent.system) / 1000,
    freedMiB: (rss - process.memoryUsage.rss()) / 2 ** 20,
  }), 100);
});
`;
const worker = new Worker(PROGRAM, { eval: true });
const totals = { full: { cpuMs: 0, freedMiB: 0 }, young: { cpuMs: 0, freedMiB: 0 } };
for (let i = 0; i < 2 * rounds; i += 1) {
  const kind = i % 2 === 0 ? 'full' : 'young';
  const bytes = new ArrayBuffer(mib * 2 ** 20);
  new Uint8Array(bytes).fill(1); // resident, as a model's bytes are
  worker.postMessage({ bytes, kind }, [bytes]);
  const { cpuMs, freedMiB } = await new Promise((resolve) => worker.once('message', resolve));
  totals[kind].cpuMs += cpuMs;
  totals[kind].freedMiB += freedMiB;
}
await worker.terminate();
for (const [kind, { cpuMs, freedMiB }] of Object.entries(totals)) {
  console.log(
    `${kind.padEnd(5)} collection: ${(cpuMs / rounds).toFixed(2)} ms of process CPU, ` +
      `${(freedMiB / rounds).toFixed(1)} MiB of the ${mib} MiB dropped left resident memory (mean of ${rounds})`,
  );
}
