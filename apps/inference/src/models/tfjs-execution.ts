// TensorFlow.js execution, light enough to load on a thread of its own (tfjs-thread.ts): no Nest,
// and of the registry only its archive reader; TF.js and the types of tensors. The event loop's
// path (tfjs-runtime.ts) runs the same code.
import { readTfjsArchive } from '@maas/model-registry/tfjs-archive';
import type { Tensor, TensorSpec } from '@maas/tensors';
import { PackedBytes } from '@maas/tensors/packed-bytes';
import {
  activateTfjsBackend,
  chooseTfjsBackend,
  loadTfjs,
  type Tf,
  type TfjsBackendName,
  type TfjsBackendRequest,
} from '@maas/tfjs-runtime';

let requested: TfjsBackendRequest = 'auto';
let active: TfjsBackendName | undefined;
let init: Promise<Tf> | undefined;

/** Which backend to use (TFJS_BACKEND); takes effect at the first TF.js load. */
export function configureTfjs(backend: TfjsBackendRequest): void {
  requested = backend;
}

/**
 * Loads TF.js on the best working backend (tfjs-node-gpu → tfjs-node → wasm → cpu), once: at
 * the first TF.js model (or readiness check), never at start-up.
 */
export function tfjs(): Promise<Tf> {
  init ??= (async () => {
    const tf = await loadTfjs();
    tf.env().set('PROD', true);
    active = await activateTfjsBackend(requested);
    return tf;
  })();
  return init;
}

/** The backend TF.js runs on, once initialised (else the one it will try first). */
export function tfjsBackendName(): string {
  return `tfjs-${active ?? chooseTfjsBackend(requested)}`;
}

/** A request TF.js cannot take as sent (a missing input, a datatype it has no type for): 400. */
export class TfjsRequestError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'TfjsRequestError';
  }
}

/** A loaded TF.js model: runs feeds to the named outputs. */
export interface TfjsModel {
  backend: string;
  run(feeds: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]>;
  release(): void;
}

const TF_DTYPES: Partial<Record<string, 'float32' | 'int32' | 'bool' | 'string'>> = {
  FP32: 'float32',
  INT32: 'int32',
  BOOL: 'bool',
  BYTES: 'string',
};

function toTf(tf: Tf, input: Tensor) {
  const dtype = TF_DTYPES[input.datatype];
  if (!dtype) {
    throw new TfjsRequestError(
      `input '${input.name}': datatype ${input.datatype} is not supported by TensorFlow.js`,
    );
  }
  if (dtype === 'string') {
    // Packed (PackedBytes, or its plain clone from another thread): read out here.
    const packed = PackedBytes.revive(input.data);
    const values =
      packed instanceof PackedBytes
        ? packed.toStrings()
        : (input.data as (string | Uint8Array)[]).map((v) =>
            typeof v === 'string'
              ? v
              : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'),
          );
    return tf.tensor(values, input.shape, 'string');
  }
  return tf.tensor(input.data as Float32Array, input.shape, dtype);
}

async function fromTf(name: string, tensor: import('@tensorflow/tfjs').Tensor): Promise<Tensor> {
  const shape = tensor.shape.slice();
  const data = await tensor.data();
  switch (tensor.dtype) {
    case 'string':
      return {
        name,
        datatype: 'BYTES',
        shape,
        data: (data as unknown as Uint8Array[]).map((b) => Buffer.from(b)),
      };
    case 'int32':
      return { name, datatype: 'INT32', shape, data: Int32Array.from(data as Int32Array) };
    case 'bool':
      return { name, datatype: 'BOOL', shape, data: Uint8Array.from(data as Uint8Array) };
    default:
      return { name, datatype: 'FP32', shape, data: Float32Array.from(data as Float32Array) };
  }
}

/**
 * Loads a TF.js model version's archive (.zip or .tar.gz of model.json and its weight shards,
 * read with the registry's reader: InvalidModelError if it is not one) from memory. Layers models
 * take inputs in signature order; graph models by tensor name.
 */
export async function loadTfjsModel(
  bytes: Uint8Array,
  signatureInputs: readonly TensorSpec[],
  signatureOutputs: readonly TensorSpec[],
): Promise<TfjsModel> {
  const archive = await readTfjsArchive(bytes);
  const tf = await tfjs();
  const artifacts = tf.io.getModelArtifactsForJSONSync(
    archive.modelJson as never,
    archive.weightSpecs as never,
    archive.weightData,
  );
  type TfTensor = import('@tensorflow/tfjs').Tensor;
  /**
   * Runs the model on TF.js tensors: the outputs in `outputNames` order, and every tensor it
   * made (inputs and all outputs) for the caller to dispose.
   */
  let execute: (
    feeds: readonly Tensor[],
    outputNames: readonly string[],
  ) => Promise<{ outputs: TfTensor[]; made: TfTensor[] }>;
  let dispose: () => void;
  if (archive.format === 'graph-model') {
    // Graph models take inputs and name outputs by tensor name.
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    dispose = () => model.dispose();
    execute = async (feeds, outputNames) => {
      const named: Record<string, TfTensor> = {};
      for (const feed of feeds) named[feed.name] = toTf(tf, feed);
      const inputs = Object.values(named);
      try {
        const result = await model.executeAsync(named, [...outputNames]);
        const outputs = Array.isArray(result) ? result : [result];
        return { outputs, made: [...inputs, ...outputs] };
      } catch (error) {
        tf.dispose(inputs);
        throw error;
      }
    };
  } else {
    // Layers models take inputs in signature order and give outputs in signature order.
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    dispose = () => model.dispose();
    execute = async (feeds, outputNames) => {
      const ordered = signatureInputs.map((spec) => {
        const feed = feeds.find((f) => f.name === spec.name);
        if (!feed) throw new TfjsRequestError(`input '${spec.name}' is missing`);
        return feed;
      });
      const inputs = ordered.map((feed) => toTf(tf, feed));
      try {
        const result = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
        const all = Array.isArray(result) ? result : [result];
        return {
          outputs: outputNames.map(
            (name) => all[signatureOutputs.findIndex((o) => o.name === name)]!,
          ),
          made: [...inputs, ...all],
        };
      } catch (error) {
        tf.dispose(inputs);
        throw error;
      }
    };
  }
  return {
    backend: tfjsBackendName(),
    async run(feeds, outputNames) {
      let ran: { outputs: TfTensor[]; made: TfTensor[] } | undefined;
      try {
        ran = await execute(feeds, outputNames);
        const { outputs } = ran;
        return await Promise.all(outputNames.map((name, i) => fromTf(name, outputs[i]!)));
      } finally {
        if (ran) tf.dispose(ran.made);
      }
    },
    release: () => dispose(),
  };
}
