import { DomainError } from '@maas/app-runtime';
import { assertSelfContainedOnnx, ortSessionOptions } from '@maas/model-registry';
import {
  type Tensor,
  type TensorSpec,
  allocateTypedArray,
  fromOrtOutput,
  isFixedSizeDatatype,
  toOrtFeeds,
} from '@maas/tensors';
import { type OrtThreads, OrtThreadError } from './ort-threads.js';

/** A loaded model version, whatever runs it. */
export interface ModelRuntime {
  /** `onnxruntime` or `tfjs-<backend>`; reported in metadata and /readyz. */
  readonly backend: string;
  /** False once the runtime is gone (its model thread stopped): the cache loads it again. */
  readonly alive?: boolean;
  /**
   * `maxOutputBytes`: outputs whose raw bytes exceed it are refused where they were computed
   * (OutputTooLargeError), before they reach the event loop; runtimes that cannot tell may
   * ignore it (the answer's own cap still applies). `handOver`: the caller will not read the
   * inputs' data again, and a runtime on another thread may take it without a copy (it may
   * read as empty afterwards).
   */
  run(
    inputs: Tensor[],
    outputNames: string[],
    maxOutputBytes?: number,
    handOver?: boolean,
  ): Promise<Tensor[]>;
  release(): Promise<void>;
}

/**
 * A runtime failure on a request's tensors is the request's fault (400): the runtime rejects
 * inputs the signature could not rule out (e.g. a bad value range). Domain errors pass as they are.
 */
export function modelRejected(error: unknown): Error {
  if (error instanceof DomainError) return error;
  return new DomainError(
    'INVALID_ARGUMENT',
    `model rejected the request: ${(error as Error).message}`,
  );
}

export interface OrtRuntimeOptions {
  intraOpThreads: number;
  /** busy-wait in idle intra-op threads (onnxruntime's default is on) */
  allowSpinning?: boolean;
  /** The model threads the session lives on, and whose thread it takes (see OrtThreads). */
  threads: OrtThreads;
  tenantId: string;
}

/**
 * An onnxruntime session for a version's bytes, on its tenant's model thread. The bytes are
 * checked again here (a version stored before the check existed must not load): a model that
 * refers to anything outside itself throws InvalidModelError before onnxruntime sees it, and the
 * session is sandboxed (external data only from an empty directory) in case anything slipped
 * through.
 */
export async function createOrtRuntime(
  bytes: Uint8Array,
  options: OrtRuntimeOptions,
): Promise<ModelRuntime> {
  assertSelfContainedOnnx(bytes);
  // The upload check's session options too (ortSessionOptions): what validated is what loads.
  const session = await options.threads.open(
    options.tenantId,
    bytes,
    ortSessionOptions({
      intraOpThreads: options.intraOpThreads,
      allowSpinning: options.allowSpinning,
    }),
  );
  return {
    backend: 'onnxruntime',
    get alive() {
      return session.alive;
    },
    async run(inputs, outputNames, maxOutputBytes, handOver) {
      let results: Awaited<ReturnType<typeof session.run>>;
      try {
        results = await session.run(toOrtFeeds(inputs), outputNames, maxOutputBytes, handOver);
      } catch (error) {
        throw error instanceof OrtThreadError ? modelRejected(error) : error;
      }
      return outputNames.map((name) => {
        const tensor = results[name]!;
        return fromOrtOutput(name, tensor.type, tensor.data, tensor.dims);
      });
    },
    release: () => session.release(),
  };
}

/** Zero-valued inputs of the signature (free dims as 1), for the warm-up run after a load. */
export function warmUpInputs(signature: readonly TensorSpec[]): Tensor[] {
  return signature.map((spec) => {
    const shape = spec.shape.map((dim) => (dim < 0 ? 1 : dim));
    const count = shape.reduce((a, b) => a * b, 1);
    const data: Tensor['data'] = isFixedSizeDatatype(spec.datatype)
      ? allocateTypedArray(spec.datatype, count)
      : new Array<string>(count).fill('');
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}

/** Dim 0 of every input and output is free: requests can be stacked along it. */
export function isBatchable(
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
): boolean {
  return (
    inputs.length > 0 &&
    [...inputs, ...outputs].every((spec) => spec.shape.length > 0 && spec.shape[0] === -1)
  );
}
