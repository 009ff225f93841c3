import { DomainError } from '@maas/app-runtime';
import {
  InvalidModelError,
  lowerThreadPriority,
  ThreadCalls,
  transferableBuffer,
} from '@maas/model-registry';
import {
  asBufferElements,
  type NumericTypedArray,
  PackedBytes,
  type Tensor,
  type TensorSpec,
} from '@maas/tensors';
import type { TfjsBackendRequest } from '@maas/tfjs-runtime';
import { modelRejected, type ModelRuntime } from './model-runtime.js';
import { TenantPlacement } from './tenant-placement.js';
import { TenantTurns } from './tenant-turns.js';

/**
 * The thread's program (CommonJS, run with `eval`): the built tfjs-execution module (TF.js and
 * the registry's archive reader, nothing of Nest), its models kept by handle. Outputs go back without a copy
 * (each is a buffer of its own).
 */
const threadProgram = (nice: number) => `
const { parentPort, workerData } = require('node:worker_threads');
// A tenant's model computing yields the cores to the event loop that answers every tenant.
${lowerThreadPriority(nice)}
const POOL_BYTES = require('node:buffer').Buffer.poolSize;
const execution = import(workerData.executionModule).then((module) => {
  module.configureTfjs(workerData.backend);
  return module;
});
const models = new Map();
let lastHandle = 0;
parentPort.on('message', async (message) => {
  const { id, op } = message;
  try {
    const module = await execution;
    if (op === 'ready') {
      await module.tfjs();
      return parentPort.postMessage({ id, backend: module.tfjsBackendName() });
    }
    if (op === 'load') {
      const model = await module.loadTfjsModel(Buffer.from(message.bytes), message.inputs, message.outputs);
      const handle = ++lastHandle;
      models.set(handle, model);
      return parentPort.postMessage({ id, handle, backend: model.backend });
    }
    const model = models.get(message.handle);
    if (op === 'release') {
      models.delete(message.handle);
      if (model) model.release();
      return parentPort.postMessage({ id });
    }
    if (!model) throw new Error('no such TF.js model on this thread');
    const outputs = await model.run(message.feeds, message.outputNames);
    const transfer = new Set();
    for (const output of outputs) {
      if (ArrayBuffer.isView(output.data) && output.data.buffer.byteLength > POOL_BYTES) {
        transfer.add(output.data.buffer);
      }
    }
    parentPort.postMessage({ id, outputs }, [...transfer]);
  } catch (error) {
    parentPort.postMessage({
      id,
      error: {
        name: error && error.name,
        code: error && error.code,
        message: String((error && error.message) || error),
      },
    });
  }
});
`;

/** The built tfjs-execution module: from src/models and dist/models alike, dist's. */
const EXECUTION_MODULE = new URL('../../dist/models/tfjs-execution.js', import.meta.url).href;

interface Reply {
  id: number;
  handle?: number;
  backend?: string;
  outputs?: Tensor[];
  error?: { name?: string; code?: string; message: string };
}

/** The thread's error, raised again here; a run's as the event loop's path answers it. */
class ThreadError extends Error {
  constructor(readonly error: NonNullable<Reply['error']>) {
    super(error.message);
  }

  /** What a run that failed this way answers (tfjs-runtime.ts's tfjsRunFailure). */
  asRunFailure(): Error {
    return this.error.name === 'TfjsRequestError'
      ? new DomainError('INVALID_ARGUMENT', this.message)
      : modelRejected(new Error(this.message));
  }
}

/**
 * A feed as the thread should get it: a typed array compact (a clone of a view would copy the
 * whole buffer under it, a frame's, say) and handed over; BYTES as strings (TF.js reads them as
 * UTF-8 text anyway), or packed as they came.
 */
function feedFor(input: Tensor, handOver: boolean, transfer: ArrayBuffer[]): Tensor {
  const data = input.data;
  // Packed strings go as they are (the thread reads them out), their buffers handed over.
  if (data instanceof PackedBytes) {
    if (handOver) transfer.push(...data.transferables());
    return input;
  }
  if (Array.isArray(data)) {
    const text = (data as (string | Buffer)[]).map((v) =>
      typeof v === 'string' ? v : v.toString('utf8'),
    );
    return { ...input, data: text };
  }
  const typed = data as NumericTypedArray;
  // Handed over as OrtThreads' feeds are (handOverFeeds); else a compact copy of our own.
  const buffer = handOver ? transferableBuffer(typed) : (typed.slice().buffer as ArrayBuffer);
  const own =
    buffer === typed.buffer
      ? typed
      : new (typed.constructor as new (buffer: ArrayBuffer) => typeof typed)(buffer);
  if (buffer.byteLength > Buffer.poolSize) transfer.push(buffer);
  return { ...input, data: own };
}

/**
 * Runs TensorFlow.js models on a thread of their own, below the event loop's priority (the
 * model threads' nice value): TF.js computes on the thread that calls it, so on the event loop a
 * tenant's large model held every other tenant's requests on the worker for as long as it
 * computed (hostile-tenants: B's p99 15.5 → 105.6 ms while A's requests computed). The archive
 * is read, the model built and run there. If the thread dies, the versions it held report
 * themselves gone (`alive`) and load again on their next request. TfjsThreads places tenants on
 * several.
 */
export class TfjsThread {
  /** Bumped when a thread stops: models of an earlier one are gone. */
  private generation = 0;
  private readonly calls: ThreadCalls<Reply>;
  /** The backend the thread runs TF.js on, once it has said. */
  private backend?: string;
  /** The thread (generation) that has TF.js up: readiness asks it once, not on every probe. */
  private readyGeneration = -1;
  /** Its tenants' loads and runs, posted a tenant's turn at a time (TenantTurns). */
  private readonly turns = new TenantTurns();

  /** `onStop`: the thread stopped, and the models it held with it. */
  constructor(backend: TfjsBackendRequest, nice: number, onStop?: () => void) {
    this.calls = new ThreadCalls<Reply>(
      threadProgram(nice),
      'TF.js thread',
      { workerData: { executionModule: EXECUTION_MODULE, backend } },
      () => {
        this.generation += 1;
        onStop?.();
      },
    );
  }

  /**
   * Starts the thread and TF.js on it (the readiness check: TF.js never loads on the event loop
   * then); resolves with the backend it runs on. Asked once per thread: a probe while the thread
   * computes a tenant's model must not wait behind it.
   */
  async ready(): Promise<string> {
    if (this.readyGeneration === this.generation && this.backend) return this.backend;
    const generation = this.generation;
    const reply = await this.call({ op: 'ready' });
    this.readyGeneration = generation;
    return (this.backend = reply.backend!);
  }

  /** The backend TF.js runs on there, once known (else `fallback`, the one it will try first). */
  backendName(fallback: string): string {
    return this.backend ?? fallback;
  }

  /** Loads a version of `tenantId`'s (whose calls take turns with other tenants' here). */
  async load(
    tenantId: string,
    bytes: Buffer,
    signatureInputs: readonly TensorSpec[],
    signatureOutputs: readonly TensorSpec[],
  ): Promise<ModelRuntime> {
    const generation = this.generation;
    const call = (message: Record<string, unknown>, transfer?: ArrayBuffer[]) =>
      this.turns.run(tenantId, () => this.call(message, transfer));
    // The archive is read there too (unpacking a large one held the loop for 60-460 ms). Handed
    // over without a copy when the bytes own their memory, as the model threads' are.
    const buffer = transferableBuffer(bytes);
    const loaded = await call(
      { op: 'load', bytes: buffer, inputs: signatureInputs, outputs: signatureOutputs },
      [buffer],
    ).catch((error: unknown) => {
      // Not a TF.js archive, or not a sound one: refused as on the loop's path (422, failed).
      if (error instanceof ThreadError && error.error.code === 'INVALID_MODEL') {
        throw new InvalidModelError(error.message);
      }
      throw error;
    });
    const handle = loaded.handle!;
    this.backend = loaded.backend;
    const alive = () => this.generation === generation;
    const gone = () => new DomainError('UNAVAILABLE', 'model version is temporarily unavailable');
    return {
      backend: loaded.backend!,
      get alive() {
        return alive();
      },
      run: async (inputs, outputNames, _maxOutputBytes, handOver = false) => {
        if (!alive()) throw gone();
        const transfer: ArrayBuffer[] = [];
        const feeds = inputs.map((input) => feedFor(input, handOver, transfer));
        try {
          const ran = await call({ op: 'run', handle, feeds, outputNames }, transfer);
          return asBufferElements(ran.outputs!);
        } catch (error) {
          if (error instanceof ThreadError) throw error.asRunFailure();
          // The thread stopped under it (its memory, a crash): the version loads again.
          throw alive() ? error : gone();
        }
      },
      release: async () => {
        if (alive()) await call({ op: 'release', handle });
      },
    };
  }

  private async call(
    message: Record<string, unknown>,
    transfer: ArrayBuffer[] = [],
  ): Promise<Reply> {
    const id = this.calls.nextId();
    const reply = await this.calls.call({ ...message, id }, transfer);
    if (reply.error) throw new ThreadError(reply.error);
    return reply;
  }
}

/**
 * The worker's TF.js threads (TFJS_THREADS), placed per tenant as the model threads are
 * (TenantPlacement): a tenant's TF.js versions on its own thread while there are threads to
 * spare, so one tenant's heavy model computing delays its own requests, not another TF.js
 * tenant's (on one shared thread, B's requests queued behind each of A's computations). A thread
 * starts, and loads TF.js, with its first model (the first one with the readiness check); each
 * holds a TF.js of its own.
 */
export class TfjsThreads {
  private readonly threads: TfjsThread[];
  private readonly placement: TenantPlacement;

  constructor(size: number, backend: TfjsBackendRequest, nice: number) {
    const count = Math.max(1, size);
    this.placement = new TenantPlacement(count);
    this.threads = Array.from(
      { length: count },
      (_, index) => new TfjsThread(backend, nice, () => this.placement.lost(index)),
    );
  }

  /** TF.js up on the first thread (the readiness check); resolves with its backend. */
  ready(): Promise<string> {
    return this.threads[0]!.ready();
  }

  /** The backend TF.js runs on, once known (else `fallback`). */
  backendName(fallback: string): string {
    return this.threads[0]!.backendName(fallback);
  }

  /** Loads a version of `tenantId`'s on the tenant's thread. */
  async load(
    tenantId: string,
    bytes: Buffer,
    signatureInputs: readonly TensorSpec[],
    signatureOutputs: readonly TensorSpec[],
  ): Promise<ModelRuntime> {
    const placed = this.placement.place(tenantId);
    let runtime: ModelRuntime;
    try {
      runtime = await this.threads[placed.index]!.load(
        tenantId,
        bytes,
        signatureInputs,
        signatureOutputs,
      );
    } catch (error) {
      placed.release();
      throw error;
    }
    return {
      backend: runtime.backend,
      get alive() {
        return runtime.alive;
      },
      run: (...args) => runtime.run(...args),
      release: async () => {
        placed.release();
        await runtime.release();
      },
    };
  }

  /** The tenants with TF.js versions on each thread (for tests and the admin view). */
  tenantsPerThread(): string[][] {
    return this.threads.map((_, index) => this.placement.tenantsOf(index));
  }
}
