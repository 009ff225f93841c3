import { DomainError } from '@maas/app-runtime';
import type { TensorSpec } from '@maas/tensors';
import { loadTfjsModel, type TfjsModel, TfjsRequestError } from './tfjs-execution.js';
import { type ModelRuntime, modelRejected } from './model-runtime.js';

export { configureTfjs, tfjs, tfjsBackendName } from './tfjs-execution.js';

/**
 * A failure of a TF.js run as the answer should say it: the request's own fault (400), with
 * the message TF.js or the feed check gave.
 */
export function tfjsRunFailure(error: unknown): Error {
  if (error instanceof TfjsRequestError) return new DomainError('INVALID_ARGUMENT', error.message);
  return modelRejected(error);
}

/** A loaded TF.js model as a ModelRuntime (runs where it was loaded). */
export function tfjsModelRuntime(model: TfjsModel): ModelRuntime {
  return {
    backend: model.backend,
    async run(feeds, outputNames) {
      try {
        return await model.run(feeds, outputNames);
      } catch (error) {
        throw tfjsRunFailure(error);
      }
    },
    release: async () => model.release(),
  };
}

/**
 * A TensorFlow.js model version on the event loop (TFJS_THREADS=0; else tfjs-thread.ts): the
 * archive (.zip or .tar.gz of model.json + weight shards) is read with the registry's reader and
 * loaded from memory.
 */
export async function loadTfjsRuntime(
  bytes: Buffer,
  signatureInputs: readonly TensorSpec[],
  signatureOutputs: readonly TensorSpec[],
): Promise<ModelRuntime> {
  return tfjsModelRuntime(await loadTfjsModel(bytes, signatureInputs, signatureOutputs));
}
