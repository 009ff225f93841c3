import { Worker } from 'node:worker_threads';
import { DomainError } from '@maas/app-runtime';
import { THREAD_GC_HELPER, transferableBuffer } from '@maas/model-registry';
import { PackedBytes } from '@maas/tensors';
import type { InferenceSession } from 'onnxruntime-node';
import { TenantPlacement } from './tenant-placement.js';
import { TenantTurns } from './tenant-turns.js';

/** A thread's answer: `error` is onnxruntime's message (or "no such session"). */
interface Reply {
  id: number;
  error?: string;
  /** The outputs' bytes, past the run's maxOutputBytes: they stayed on the thread. */
  tooLarge?: number;
  outputs?: Record<string, { type: string; data: unknown; dims: readonly number[] }>;
  /** The thread's first message: onnxruntime-node is loaded. */
  loaded?: true;
}

interface Waiting {
  resolve: (reply: Reply) => void;
  reject: (error: unknown) => void;
}

interface ModelThread {
  worker: Worker;
  pending: Map<number, Waiting>;
  /** Its tenants' calls, posted a tenant's turn at a time (where tenants share the thread). */
  turns: TenantTurns;
  dead: boolean;
  /**
   * Settles once the thread has loaded onnxruntime-node (its first message) or stopped. A thread
   * terminated while it is still registering the native addon aborts the whole process (the
   * addon throws a C++ exception into a dying environment: `terminate called after throwing an
   * instance of 'Napi::Error'`), so close() waits for this first.
   */
  loaded: Promise<void>;
}

/** How long close() waits for a thread still loading onnxruntime-node before it stops it. */
const LOADED_WAIT_MS = 10_000;

/** A request for a thread's work failed because the thread stopped (it is started again). */
export class ModelThreadLostError extends DomainError {
  constructor() {
    super('UNAVAILABLE', 'the model thread serving this version stopped; retry shortly');
  }
}

/** An onnxruntime error, reported by the thread that ran it. */
export class OrtThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrtThreadError';
  }
}

/** A run's outputs were past its maxOutputBytes (`bytes`: their size on the thread). */
export class OutputTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`the outputs take ${bytes} bytes`);
    this.name = 'OutputTooLargeError';
  }
}

/** One session on a model thread. */
export interface ThreadSession {
  /** False once its thread stopped: the session is gone with it. */
  readonly alive: boolean;
  /**
   * Rejects with OutputTooLargeError when the outputs take more than `maxOutputBytes`.
   * `handOver`: the caller will not read the feeds' data again, so it goes to the thread without
   * the copy a structured clone makes (see handOverFeeds).
   */
  run(
    feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>,
    outputs: string[],
    maxOutputBytes?: number,
    handOver?: boolean,
  ): Promise<NonNullable<Reply['outputs']>>;
  release(): Promise<void>;
}

const THREAD_PROGRAM = new URL('./ort-thread.mjs', import.meta.url);

/**
 * The threads an inference worker runs its onnxruntime sessions on (ORT_MODEL_THREADS), one
 * tenant per thread while there are threads to spare. onnxruntime-node builds a session and
 * runs it synchronously on the thread that calls it; on the event loop, one tenant's cold load
 * of a large model (tens of ms to build the session, plus the collections its buffers cause)
 * or a slow model's run would hold every other tenant's request on the worker. Here they hold
 * only their own thread: a tenant's sessions all live on one thread (its bulkhead), and a
 * tenant new to the worker gets the thread with the fewest tenants; tenants that share a thread
 * take turns on it (TenantTurns). Inputs go to the thread
 * copied, outputs come back transferred (~50 µs more CPU per run than on the event loop, with
 * 64 runs in flight; docs/performance.md).
 * A thread that stops (it should not: a native crash takes the process) fails what it held
 * with ModelThreadLostError, its sessions report `alive: false`, and the next load starts it
 * again. The threads start with the worker (prestart).
 */
export class OrtThreads {
  private readonly threads: (ModelThread | undefined)[];
  private readonly placement: TenantPlacement;
  private nextId = 0;
  private nextSession = 0;

  /** `nice`: the threads' CPU priority below the event loop's (Linux nice value; 0: the same). */
  constructor(
    size: number,
    private readonly nice = 0,
  ) {
    this.threads = Array.from({ length: Math.max(1, size) }, () => undefined);
    this.placement = new TenantPlacement(this.threads.length);
  }

  /**
   * Starts every thread now, not on a tenant's first load: starting one (an isolate,
   * onnxruntime's bindings) costs ~50-100 ms of CPU, which a request replayed from a lost worker,
   * or the first of a new tenant, should not wait for. The worker calls it as it starts
   * (ModelCacheService.onModuleInit); a thread not started yet starts on its first call.
   */
  prestart(): void {
    for (let i = 0; i < this.threads.length; i++) this.started(i);
  }

  /**
   * Builds a session for `bytes` on the tenant's thread. The bytes go to the thread: when they
   * own their ArrayBuffer it is transferred (and reads as empty here afterwards), else copied.
   */
  async open(
    tenantId: string,
    bytes: Uint8Array,
    options: InferenceSession.SessionOptions,
  ): Promise<ThreadSession> {
    const placed = this.placement.place(tenantId);
    const thread = this.started(placed.index);
    const session = ++this.nextSession;
    const forget = () => placed.release();
    // Handed over without a copy when the bytes own their memory (as ArtifactReader's do).
    const buffer = transferableBuffer(bytes);
    const call = (message: Record<string, unknown>, transfer?: ArrayBuffer[]) =>
      thread.turns.run(tenantId, () => this.call(thread, message, transfer));
    try {
      await call({ op: 'open', session, bytes: buffer, options }, [buffer]);
    } catch (error) {
      forget();
      throw error;
    }
    return {
      get alive() {
        return !thread.dead;
      },
      run: async (feeds, outputs, maxOutputBytes, handOver = false) => {
        const reply = await call(
          { op: 'run', session, feeds, outputs, maxOutputBytes },
          handOver ? handOverFeeds(feeds) : [],
        );
        if (reply.tooLarge !== undefined) throw new OutputTooLargeError(reply.tooLarge);
        return reply.outputs!;
      },
      release: async () => {
        forget();
        if (!thread.dead) await call({ op: 'release', session });
      },
    };
  }

  /** Tenants per started thread (for tests and the admin view). */
  tenantsPerThread(): string[][] {
    return this.threads.flatMap((thread, index) =>
      thread ? [this.placement.tenantsOf(index)] : [],
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async (thread) => {
        if (!thread || thread.dead) return;
        thread.dead = true;
        let waited: NodeJS.Timeout | undefined;
        await Promise.race([
          thread.loaded,
          new Promise((resolve) => (waited = setTimeout(resolve, LOADED_WAIT_MS))),
        ]);
        clearTimeout(waited);
        await thread.worker.terminate();
      }),
    );
  }

  private started(index: number): ModelThread {
    const existing = this.threads[index];
    if (existing && !existing.dead) return existing;
    const worker = new Worker(THREAD_PROGRAM, {
      workerData: { nice: this.nice, gcHelper: THREAD_GC_HELPER },
    });
    worker.unref();
    let loaded!: () => void;
    const thread: ModelThread = {
      worker,
      pending: new Map(),
      turns: new TenantTurns(),
      dead: false,
      loaded: new Promise((resolve) => (loaded = resolve)),
    };
    worker.on('message', (reply: Reply) => {
      if (reply.loaded) {
        loaded();
        return;
      }
      const waiting = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      if (!waiting) return;
      if (reply.error !== undefined) waiting.reject(new OrtThreadError(reply.error));
      else waiting.resolve(reply);
    });
    const lost = () => {
      loaded();
      thread.dead = true;
      if (this.threads[index] === thread) {
        this.threads[index] = undefined;
        this.placement.lost(index);
      }
      for (const waiting of thread.pending.values()) waiting.reject(new ModelThreadLostError());
      thread.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.threads[index] = thread;
    return thread;
  }

  private call(
    thread: ModelThread,
    message: Record<string, unknown>,
    transfer: ArrayBuffer[] = [],
  ): Promise<Reply> {
    if (thread.dead) return Promise.reject(new ModelThreadLostError());
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    return new Promise<Reply>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      try {
        thread.worker.postMessage({ ...message, id }, transfer);
      } catch (error) {
        // A buffer that cannot be transferred (nothing was detached): copied instead.
        if (transfer.length === 0) throw error;
        thread.worker.postMessage({ ...message, id });
      }
    });
  }
}

/**
 * The buffers to transfer with `feeds`, whose typed arrays the caller hands over. An array that
 * spans the whole of its own ArrayBuffer (a decoded request's, a batch's concatenation) goes as
 * it is and reads as empty here afterwards; a view into a larger buffer (a request body that
 * other requests' frames may share) is copied into one of its own first, and the view is left
 * as it was. Either way the thread receives the data without a second copy, where a structured
 * clone copies it into the message and again into a new buffer on the thread (two copies and an
 * allocation of the batch's size per run: tens of µs for a 32-row request; docs/performance.md).
 */
export function handOverFeeds(
  feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>,
): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const feed of Object.values(feeds)) {
    const data = feed.data;
    if (data instanceof PackedBytes) {
      for (const buffer of data.transferables()) buffers.add(buffer);
      continue;
    }
    if (!ArrayBuffer.isView(data) || data instanceof DataView) continue;
    const buffer = transferableBuffer(data);
    // A copy: the feed becomes the same kind of typed array over it.
    if (buffer !== data.buffer) {
      feed.data = new (data.constructor as new (buffer: ArrayBuffer) => ArrayBufferView)(buffer);
    }
    buffers.add(buffer);
  }
  return [...buffers];
}
