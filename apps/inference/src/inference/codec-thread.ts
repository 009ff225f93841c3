import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  LOWER_THIS_THREAD_PRIORITY,
  ownsItsBuffer,
  ThreadCalls,
  transferableBuffer,
} from '@maas/model-registry';
import {
  asBufferElements,
  type DecodeInferRequestOptions,
  type DecodePredictOptions,
  type EncodedInferResponse,
  type EncodedPredictResponse,
  type EncodeInferResponseOptions,
  type InferRequest,
  type InferResponse,
  type PredictFormat,
  type PredictRequest,
  type Tensor,
  TensorError,
  type TensorErrorCode,
  type TensorSpec,
} from '@maas/tensors';

/**
 * The thread's program (CommonJS, run with `eval`): the codec functions of the built
 * `@maas/tensors`, called by name. What a result holds in buffers of its own is transferred back
 * (never a slice of Node's shared pool, which cannot move).
 */
const THREAD_PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
// Large requests are their sender's cost: below the event loop's CPU priority.
${LOWER_THIS_THREAD_PRIORITY}
const POOL_BYTES = require('node:buffer').Buffer.poolSize;
const OPS = new Set(['decodeInferRequest', 'decodePredictRequest', 'encodeInferResponse', 'encodePredictResponse']);
const tensors = import(workerData.tensorsModule);
const ownBuffers = (value, found) => {
  if (value === null || typeof value !== 'object') return;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer.byteLength > POOL_BYTES) found.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') ownBuffers(item, found);
  } else if (!(value instanceof Set) && !(value instanceof Map)) {
    for (const key of Object.keys(value)) ownBuffers(value[key], found);
  }
};
parentPort.on('message', async ({ id, op, args }) => {
  try {
    if (!OPS.has(op)) throw new Error('no codec operation ' + op);
    const codec = await tensors;
    if (op.startsWith('decode')) args[0] = Buffer.from(args[0]);
    // A structured clone turned the outputs' Buffers into Uint8Arrays.
    if (op === 'encodeInferResponse') codec.asBufferElements(args[0].outputs);
    if (op === 'encodePredictResponse') codec.asBufferElements(args[0]);
    const result = codec[op](...args);
    // Large BYTES inputs go back packed: two buffers, not an object per element for the loop
    // to read out of the message (PackedBytes).
    if (op.startsWith('decode')) codec.packBytesTensors(result.inputs, codec.PACK_MIN_ELEMENTS);
    const transfer = new Set();
    ownBuffers(result, transfer);
    parentPort.postMessage({ id, result }, [...transfer]);
  } catch (error) {
    parentPort.postMessage({
      id,
      error: { name: error && error.name, code: error && error.code, message: String((error && error.message) || error) },
    });
  }
});
`;

type Reply = {
  id: number;
  result?: unknown;
  error?: { name?: string; code?: string; message: string };
};

/** The built @maas/tensors module's URL, resolved on first use (a thread needs it built). */
let tensorsModule: string | undefined;
const builtTensorsModule = () =>
  (tensorsModule ??= pathToFileURL(createRequire(import.meta.url).resolve('@maas/tensors')).href);

/**
 * Whether a request is decoded on the codec thread: its JSON is past `min` bytes, or it is past
 * `min` in all and may carry BYTES tensors (each element of a binary BYTES tensor is a string
 * or buffer of its own to make: 4 M one-byte elements took the event loop ~1.1 s). Fixed-size
 * binary tensors are read in place, at any size, and stay on the loop.
 */
export function decodesOffLoop(
  bodyBytes: number,
  headerLength: number | undefined,
  signature: readonly TensorSpec[] | undefined,
  min: number,
): boolean {
  if ((headerLength ?? bodyBytes) >= min) return true;
  if (bodyBytes < min) return false;
  return !signature || signature.some((spec) => spec.datatype === 'BYTES');
}

/**
 * Whether an answer is encoded on the codec thread: its JSON part is expected to take `min` bytes
 * or more (`jsonExpected()`, answerJsonBytesExpected: what formatting costs, floats at their
 * typical length, not their least: 100,000 floats are 200 KB at least and 1-2 MB written, 10-20
 * ms of the loop), or it carries BYTES outputs and is `min` bytes at least (encoding 4 M binary
 * BYTES elements took the loop ~0.4 s).
 */
export function encodesOffLoop(
  outputs: readonly Tensor[],
  atLeast: number,
  jsonExpected: () => number,
  min: number,
): boolean {
  if (atLeast >= min && outputs.some((output) => output.datatype === 'BYTES')) return true;
  return jsonExpected() >= min;
}

/**
 * A request body as the thread gets it: the body's own ArrayBuffer when the body spans all of it
 * (a body read over HTTP, `readBody`), transferred without a copy, so the body reads as empty
 * here afterwards (nothing reads it once it is decoded); else (a view into a link frame, or into
 * Buffer's shared pool) a copy of its own. Copying a 14 MiB body held the event loop 5-11 ms
 * (a CPU profile of the worker during three such requests).
 */
export function handedOver(body: Buffer): Uint8Array {
  return new Uint8Array(transferableBuffer(body));
}

/**
 * The buffers of `outputs` to hand to the thread with them: a numeric output whose data spans
 * all of its own buffer (a model thread's answer to one request) goes without a copy and reads
 * as empty here afterwards (nothing reads an answer's outputs once it is encoded); a view into a
 * larger one (a request's rows of a batch's output, which other requests' views share) is
 * copied by the message instead. A 14 MB output cloned into the message held the loop ~3 ms.
 */
function ownBuffersOf(outputs: readonly Tensor[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const { data } of outputs) {
    if (!ArrayBuffer.isView(data) || !ownsItsBuffer(data)) continue;
    if (!buffers.includes(data.buffer)) buffers.push(data.buffer);
  }
  return buffers;
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Decodes large request bodies and encodes large answers on a thread of their own, below the
 * event loop's priority. Reading a 30 MiB JSON request (a million rows) took the worker's event
 * loop 0.6–1.1 s and writing its 55 MiB answer another ~1 s, every other tenant's requests on
 * that worker waiting meanwhile (B's p99 31 ms → 1.9 s). What the service sends here is only
 * what is past CODEC_THREAD_MIN_BYTES of JSON; smaller work stays on the loop, where a thread's
 * round trip would cost more than it saves. One thread per worker process, started on first
 * use; the same functions, so the same answers and the same errors.
 */
export class CodecThread {
  private readonly calls = new ThreadCalls<Reply>(THREAD_PROGRAM, 'codec thread', () => ({
    workerData: { tensorsModule: builtTensorsModule() },
  }));

  /** Decodes `body` on the thread; the caller hands it over (see handedOver). */
  async decodeInfer(body: Buffer, options: DecodeInferRequestOptions): Promise<InferRequest> {
    const bytes = handedOver(body);
    const request = await this.run<InferRequest>(
      'decodeInferRequest',
      [bytes, options],
      [bytes.buffer as ArrayBuffer],
    );
    asBufferElements(request.inputs);
    return request;
  }

  async decodePredict(
    body: Buffer,
    signature: readonly TensorSpec[],
    options: DecodePredictOptions,
  ): Promise<PredictRequest> {
    const bytes = handedOver(body);
    const request = await this.run<PredictRequest>(
      'decodePredictRequest',
      [bytes, signature, options],
      [bytes.buffer as ArrayBuffer],
    );
    asBufferElements(request.inputs);
    return request;
  }

  async encodeInfer(
    response: InferResponse,
    options: EncodeInferResponseOptions,
  ): Promise<EncodedInferResponse> {
    const encoded = await this.run<EncodedInferResponse>(
      'encodeInferResponse',
      [response, options],
      ownBuffersOf(response.outputs),
    );
    return { ...encoded, body: asBuffer(encoded.body) };
  }

  async encodePredict(
    outputs: readonly Tensor[],
    format: PredictFormat,
  ): Promise<EncodedPredictResponse> {
    const encoded = await this.run<EncodedPredictResponse>(
      'encodePredictResponse',
      [outputs, format],
      ownBuffersOf(outputs),
    );
    return { ...encoded, body: asBuffer(encoded.body) };
  }

  /**
   * `op` of @maas/tensors on the thread. A body goes as its own buffer or a copy (handedOver),
   * handed over in `transfer`.
   */
  private async run<T>(op: string, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    const id = this.calls.nextId();
    const reply = await this.calls.call({ id, op, args }, transfer);
    if (reply.error) {
      const { name, code, message } = reply.error;
      if (name === 'TensorError') throw new TensorError(message, code as TensorErrorCode);
      throw new Error(message);
    }
    return reply.result as T;
  }
}
