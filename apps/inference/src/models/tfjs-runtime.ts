import { DomainError } from '@maas/app-runtime';
import { readTfjsArchive } from '@maas/model-registry';
import type { Tensor, TensorSpec } from '@maas/tensors';
import {
  activateTfjsBackend,
  chooseTfjsBackend,
  loadTfjs,
  type Tf,
  type TfjsBackendName,
  type TfjsBackendRequest,
} from '@maas/tfjs-runtime';
import { type ModelRuntime, modelRejected } from './model-runtime.js';

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

/** Backends reported in heartbeats and /readyz. */
export function tfjsBackendNames(): string[] {
  return [tfjsBackendName()];
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
    throw new DomainError(
      'INVALID_ARGUMENT',
      `input '${input.name}': datatype ${input.datatype} is not supported by TensorFlow.js`,
    );
  }
  if (dtype === 'string') {
    const values = (input.data as (string | Buffer)[]).map((v) =>
      typeof v === 'string' ? v : v.toString('utf8'),
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
 * A TensorFlow.js model version: the archive (.zip or .tar.gz of model.json + weight shards)
 * is read with the registry's reader and loaded from memory. Layers models take inputs in
 * signature order; graph models by tensor name.
 */
export async function loadTfjsRuntime(
  bytes: Buffer,
  signatureInputs: readonly TensorSpec[],
  signatureOutputs: readonly TensorSpec[],
): Promise<ModelRuntime> {
  const tf = await tfjs();
  const archive = await readTfjsArchive(bytes);
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
        if (!feed) throw new DomainError('INVALID_ARGUMENT', `input '${spec.name}' is missing`);
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
      } catch (error) {
        throw modelRejected(error);
      } finally {
        if (ran) tf.dispose(ran.made);
      }
    },
    release: async () => dispose(),
  };
}
