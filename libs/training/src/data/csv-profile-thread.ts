import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { batchesOf, LOWER_THIS_THREAD_PRIORITY } from '@maas/model-registry';
import { CsvFormatError, type CsvSummary } from './csv-reader.js';

/** Bytes gathered before a batch goes to the thread: a round trip per MiB, not per chunk. */
export const CSV_BATCH_BYTES = 1024 * 1024;
/** The thread's heap: what profiling a dataset may use (its state is bounded per column). */
export const CSV_THREAD_HEAP_MB = 96;

/**
 * The thread's program (CommonJS, run with `eval`): profileCsv over the batches it is sent,
 * acknowledging each once the parser has taken it, and the summary (or the CSV's error) at the
 * end. The module is the built one (`@maas/training/csv`): a thread runs plain Node.
 */
const THREAD_PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const { PassThrough } = require('node:stream');
// Profiling a tenant's upload is background work: below the event loop's CPU priority.
${LOWER_THIS_THREAD_PRIORITY}
// Acknowledged once the parser has (nearly) taken a batch: little is buffered ahead of it.
const input = new PassThrough({ highWaterMark: 64 * 1024 });
const ack = () => parentPort.postMessage({ ack: true });
parentPort.on('message', (message) => {
  if (message.end) return input.end();
  if (input.write(Buffer.from(message.batch))) ack();
  else input.once('drain', ack);
});
import(workerData.csvModule)
  .then(({ profileCsv }) => profileCsv(input))
  .then(
    (summary) => parentPort.postMessage({ summary }),
    (error) =>
      parentPort.postMessage({
        error: error && error.name === 'CsvFormatError'
          ? { line: error.line, reason: error.reason }
          : { message: String((error && error.message) || error) },
      }),
  );
`;

/** The built csv-reader module's URL, resolved on first use (a thread needs it built). */
let csvModule: string | undefined;
const builtCsvModule = () =>
  (csvModule ??= pathToFileURL(createRequire(import.meta.url).resolve('@maas/training/csv')).href);

type Reply =
  | { ack: true }
  | { summary: CsvSummary }
  | { error: { line: number; reason: string } | { message: string } };

/**
 * profileCsv on a thread of its own, one per call: on the gateway's event loop a 32 MiB CSV
 * cost ~7 s of CPU in 13 ms slices, one per 64 KiB chunk, and every other tenant's requests on
 * that gateway queued behind them (hostile-uploads: B's p99 17 → 259 ms). The thread runs below
 * the event loop's priority with a bounded heap (a CSV that needs more is refused, and only its
 * own upload fails); the bytes go over in batches of CSV_BATCH_BYTES, one at the thread while the
 * next is read. The source's chunks are copied, so they may be shared (another consumer's).
 */
export async function profileCsvOffThread(
  source: AsyncIterable<Buffer>,
  { heapMb = CSV_THREAD_HEAP_MB }: { heapMb?: number } = {},
): Promise<CsvSummary> {
  const worker = new Worker(THREAD_PROGRAM, {
    eval: true,
    workerData: { csvModule: builtCsvModule() },
    resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 8 },
  });
  let acknowledged: (() => void) | undefined;
  const outcome = new Promise<CsvSummary>((resolve, reject) => {
    worker.on('message', (reply: Reply) => {
      if ('ack' in reply) return acknowledged?.();
      if ('summary' in reply) return resolve(reply.summary);
      const { error } = reply;
      reject(
        'reason' in error ? new CsvFormatError(error.line, error.reason) : new Error(error.message),
      );
    });
    worker.on('error', (error: Error & { code?: string }) =>
      reject(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new CsvFormatError(0, `reading it needs more than ${heapMb} MiB of memory`)
          : error,
      ),
    );
    worker.on('exit', (code) =>
      reject(new Error(`the CSV profiling thread exited with code ${code}`)),
    );
  });
  // Settled by the thread; a failure is read where it is awaited below.
  outcome.catch(() => undefined);
  try {
    let inFlight: Promise<void> | undefined;
    for await (const batch of batchesOf(source, CSV_BATCH_BYTES)) {
      await inFlight;
      const taken = new Promise<void>((resolve) => (acknowledged = resolve));
      worker.postMessage({ batch: batch.buffer }, [batch.buffer as ArrayBuffer]);
      // Either the thread took it, or it stopped (a CSV error, its memory): that is thrown when
      // awaited, once the next batch is read.
      inFlight = Promise.race([taken, outcome.then(() => undefined)]);
      inFlight.catch(() => undefined);
    }
    await inFlight;
    worker.postMessage({ end: true });
    return await outcome;
  } finally {
    void worker.terminate();
  }
}
