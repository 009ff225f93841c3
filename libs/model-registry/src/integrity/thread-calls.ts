import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Program text that lowers the CPU priority of the thread running it to `nice` (Linux: a thread
 * id's nice value; elsewhere, or where it is not allowed, nothing).
 */
export function lowerThreadPriority(nice: number): string {
  return `
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, ${Math.trunc(nice)});
} catch {}
`;
}

/**
 * Program text for a thread doing background work (unsealing loads, sealing uploads): it lowers
 * its own CPU priority below the event loop's.
 */
export const LOWER_THIS_THREAD_PRIORITY = lowerThreadPriority(10);

/**
 * `chunks` joined into a buffer of their own, to hand to a thread without a further copy (a chunk
 * may still be someone's, or a view into a larger buffer or into Buffer's shared pool, which a
 * transfer would take from its owner or cannot move at all).
 */
export function joinedBuffer(chunks: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}

/**
 * `source` in batches of at least `bytes` (the last one may be smaller), each joined into a
 * buffer of its own (joinedBuffer): a round trip to a thread per batch, not per chunk.
 */
export async function* batchesOf(
  source: AsyncIterable<Uint8Array>,
  bytes: number,
): AsyncGenerator<Uint8Array> {
  let chunks: Uint8Array[] = [];
  let batched = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    chunks.push(chunk);
    batched += chunk.length;
    if (batched < bytes) continue;
    yield joinedBuffer(chunks);
    chunks = [];
    batched = 0;
  }
  if (batched > 0) yield joinedBuffer(chunks);
}

/** A message to the thread: its call's id, and whatever the program reads. */
export type ThreadMessage = { id: number } & Record<string, unknown>;

/**
 * One background thread running `program` (CommonJS, with `eval`), its replies matched to calls
 * by `id`: started on first use and not keeping the process alive; if it dies, every call it
 * held fails and the next call starts another.
 */
export class ThreadCalls<Reply extends { id: number }> {
  private worker?: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: unknown) => void }
  >();
  private lastId = 0;

  constructor(
    private readonly program: string,
    /** What the thread is called in the error its death gives. */
    private readonly name: string,
    /** The thread's options, or a function giving them when it starts. */
    private readonly options:
      Omit<WorkerOptions, 'eval'> | (() => Omit<WorkerOptions, 'eval'>) = {},
    /** Called when a thread stops (dies or exits): whatever it held is gone. */
    private readonly onStop?: () => void,
  ) {}

  /** A fresh id for a call (or a stream of calls). */
  nextId(): number {
    return (this.lastId = (this.lastId + 1) >>> 0);
  }

  /** Posts `message` (with `id`) and resolves with the thread's reply to that id. */
  call(message: ThreadMessage, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const worker = this.thread();
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(message.id, { resolve, reject });
      worker.postMessage(message, transfer);
    });
  }

  /** Posts `message`, expecting no reply. */
  post(message: ThreadMessage): void {
    this.thread().postMessage(message);
  }

  /** Stops waiting for a reply to `id`. */
  forget(id: number): void {
    this.waiting.delete(id);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const options = typeof this.options === 'function' ? this.options() : this.options;
    const worker = new Worker(this.program, { ...options, eval: true });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiting?.resolve(reply);
    });
    const fail = (error: unknown) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.onStop?.();
      }
      for (const waiting of this.waiting.values()) waiting.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the ${this.name} exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}
