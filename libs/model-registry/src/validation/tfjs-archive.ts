import { posix } from 'node:path';
import {
  STORED_ARCHIVE_LIMITS,
  type UnpackLimits,
  unpackTarGz,
  unpackZip,
} from './archive-unpacker.js';
import type { TensorSpec } from './onnx-inspector.js';
import { InvalidModelError, printable } from './validation-errors.js';

/** One entry of a model.json weightsManifest group (as TensorFlow.js writes it). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface TfjsArchive {
  /** model.json as parsed */
  modelJson: Record<string, unknown> & {
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
  };
  /** every weight in manifest order */
  weightSpecs: TfjsWeightSpec[];
  /** the shards of every group concatenated in manifest order (what tf.io.fromMemory takes) */
  weightData: ArrayBuffer;
  format: 'layers-model' | 'graph-model';
}

export type TfjsArchiveKind = 'zip' | 'tar.gz';

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
  int8: 1,
  int16: 2,
  complex64: 8,
};

/** zip or tar.gz by magic number; null when it is neither. */
export function tfjsArchiveKind(bytes: Uint8Array): TfjsArchiveKind | null {
  if (
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    bytes[2] === 3 &&
    bytes[3] === 4
  ) {
    return 'zip';
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'tar.gz';
  return null;
}

/**
 * Reads a TensorFlow.js model packed as .zip or .tar.gz (model.json plus its weight shards):
 * every shard named in weightsManifest must be present, and each group's shards must hold
 * exactly the bytes its weights need. Does not load TensorFlow.js. Unpacking streams and stops
 * past `limits` (uploads pass the gateway's; stored archives default to the hard cap).
 */
export async function readTfjsArchive(
  bytes: Uint8Array,
  limits: UnpackLimits = STORED_ARCHIVE_LIMITS,
): Promise<TfjsArchive> {
  const kind = tfjsArchiveKind(bytes);
  if (!kind) {
    throw new InvalidModelError(
      'not a TensorFlow.js model archive: send a .zip or .tar.gz holding model.json and its weight shards',
    );
  }
  const files = kind === 'zip' ? await unpackZip(bytes, limits) : await unpackTarGz(bytes, limits);
  const modelJsonPaths = [...files.keys()].filter((p) => posix.basename(p) === 'model.json');
  if (modelJsonPaths.length !== 1) {
    throw new InvalidModelError(
      modelJsonPaths.length === 0
        ? 'the archive has no model.json'
        : `the archive has ${modelJsonPaths.length} model.json files; pack exactly one model`,
    );
  }
  const modelJsonPath = modelJsonPaths[0];
  let modelJson: TfjsArchive['modelJson'];
  try {
    modelJson = JSON.parse(Buffer.from(files.get(modelJsonPath)!).toString('utf8'));
  } catch (error) {
    throw new InvalidModelError(`model.json is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof modelJson !== 'object' || modelJson === null || !modelJson.modelTopology) {
    throw new InvalidModelError('model.json has no modelTopology');
  }
  const manifest = modelJson.weightsManifest ?? [];
  if (!Array.isArray(manifest))
    throw new InvalidModelError('model.json weightsManifest is not a list');
  const directory = posix.dirname(modelJsonPath);
  const weightSpecs: TfjsWeightSpec[] = [];
  const shards: Uint8Array[] = [];
  for (const [index, group] of manifest.entries()) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new InvalidModelError(`weightsManifest group ${index} needs paths and weights`);
    }
    let groupBytes = 0;
    for (const [entry, path] of (group.paths as unknown[]).entries()) {
      assertPlainShardPath(path, `weightsManifest[${index}].paths[${entry}]`);
      const shard = files.get(posix.join(directory, path));
      if (!shard)
        throw new InvalidModelError(`weight shard '${path}' named in model.json is missing`);
      shards.push(shard);
      groupBytes += shard.length;
    }
    const expected = expectedGroupBytes(group.weights);
    if (expected !== null && expected !== groupBytes) {
      throw new InvalidModelError(
        `weight shards ${group.paths.join(', ')} hold ${groupBytes} bytes; model.json needs ${expected}`,
      );
    }
    weightSpecs.push(...group.weights);
  }
  const weightData = concatenate(shards);
  const topology = modelJson.modelTopology as Record<string, unknown>;
  const format =
    modelJson.format === 'graph-model' || Array.isArray(topology.node)
      ? 'graph-model'
      : 'layers-model';
  return { modelJson, weightSpecs, weightData, format };
}

/** The shards as one ArrayBuffer; a lone shard that owns its buffer is not copied. */
function concatenate(shards: Uint8Array[]): ArrayBuffer {
  const only = shards.length === 1 ? shards[0]! : undefined;
  if (only && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) {
    return only.buffer as ArrayBuffer;
  }
  const joined = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const shard of shards) {
    joined.set(shard, offset);
    offset += shard.length;
  }
  return joined.buffer;
}

/**
 * A weight path must name a file inside the archive, relative to model.json: never a URL, an
 * absolute or parent path, a backslash or a control character, whatever a loader would make
 * of it (the archive is read from memory; this keeps it that way for any future loader).
 */
function assertPlainShardPath(path: unknown, entry: string): asserts path is string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 255) {
    throw new InvalidModelError(`${entry} must be the name of a weight file in the archive`);
  }
  const segments = path.split('/');
  const problem = (
    [
      [/[\u0000-\u001f\u007f]/.test(path), 'a control character'],
      [path.includes('\\'), 'a backslash'],
      [/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path), 'a URL scheme'],
      [path.startsWith('/'), 'an absolute path'],
      [segments.includes('..'), "a '..' segment"],
      [segments.some((segment) => segment === '' || segment === '.'), "an empty or '.' segment"],
    ] as const
  ).find(([found]) => found)?.[1];
  if (problem) {
    throw new InvalidModelError(
      `${entry} ('${printable(path)}') has ${problem}; weight paths must name a file inside the archive, relative to model.json`,
    );
  }
}

/** Bytes a group's weights occupy, or null when it cannot be known (string tensors). */
function expectedGroupBytes(weights: TfjsWeightSpec[]): number | null {
  let total = 0;
  for (const weight of weights) {
    const dtype = weight.quantization?.dtype ?? weight.dtype;
    const size = BYTES_PER_ELEMENT[dtype];
    if (size === undefined) return null;
    if (!Array.isArray(weight.shape))
      throw new InvalidModelError(`weight '${weight.name}' has no shape`);
    total += size * weight.shape.reduce((n, d) => n * d, 1);
  }
  return total;
}

const DATATYPES: Record<string, TensorSpec['datatype']> = {
  float32: 'FP32',
  int32: 'INT32',
  bool: 'BOOL',
  string: 'BYTES',
};

function datatypeOf(dtype: string | undefined): TensorSpec['datatype'] {
  const datatype = DATATYPES[dtype ?? 'float32'];
  if (!datatype) throw new InvalidModelError(`tensors of dtype ${dtype} cannot be served`);
  return datatype;
}

const shapeOf = (shape: readonly (number | null | undefined)[] | undefined): number[] =>
  shape ? shape.map((d) => (d === null || d === undefined || d < 0 ? -1 : d)) : [-1];

export interface TfjsModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  format: TfjsArchive['format'];
}

/**
 * Loads a TensorFlow.js archive with @tensorflow/tfjs (cpu backend) and reads its signature:
 * layers models by input/output layer name, graph models by their signature's tensor names.
 */
export async function inspectTfjsArchive(
  bytes: Uint8Array,
  limits?: UnpackLimits,
): Promise<TfjsModelSignature> {
  const archive = await readTfjsArchive(bytes, limits);
  const tf = await import('@tensorflow/tfjs');
  // PROD silences the "install the node backend" banner; validation does not need speed.
  tf.env().set('PROD', true);
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  const artifacts = tf.io.getModelArtifactsForJSONSync(
    archive.modelJson as never,
    archive.weightSpecs as never,
    archive.weightData,
  );
  try {
    if (archive.format === 'graph-model') {
      const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
      try {
        return {
          format: archive.format,
          inputs: model.inputs.map((t) => ({
            name: t.name,
            datatype: datatypeOf(t.dtype),
            shape: shapeOf(t.shape),
          })),
          outputs: model.outputs.map((t) => ({
            name: t.name,
            datatype: datatypeOf(t.dtype),
            shape: shapeOf(t.shape),
          })),
        };
      } finally {
        model.dispose();
      }
    }
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    // Names from model.json: the loaded model's tensor names carry per-process suffixes.
    const names = layersModelNames(archive.modelJson.modelTopology);
    try {
      return {
        format: archive.format,
        inputs: model.inputs.map((t, i) => ({
          name: names?.inputs[i] ?? t.name,
          datatype: datatypeOf(t.dtype),
          shape: shapeOf(t.shape),
        })),
        outputs: model.outputs.map((t, i) => ({
          name: names?.outputs[i] ?? t.name,
          datatype: datatypeOf(t.dtype),
          shape: shapeOf(t.shape),
        })),
      };
    } finally {
      model.dispose();
    }
  } catch (error) {
    if (error instanceof InvalidModelError) throw error;
    throw new InvalidModelError(`not a loadable TensorFlow.js model: ${(error as Error).message}`);
  }
}

interface KerasLayer {
  class_name?: string;
  config?: { name?: string };
}

/**
 * Input and output names of a layers model as its model.json declares them: a functional
 * model's input_layers/output_layers; a Sequential's input layer (`<first layer>_input` when
 * implicit, as Keras names it) and its last layer.
 */
export function layersModelNames(
  topology: unknown,
): { inputs: string[]; outputs: string[] } | null {
  const root = topology as { model_config?: unknown; class_name?: string; config?: unknown } | null;
  const model = (root?.model_config ?? root) as { class_name?: string; config?: unknown } | null;
  if (!model?.config) return null;
  if (model.class_name === 'Sequential') {
    const config = model.config as { layers?: KerasLayer[] } | KerasLayer[];
    const layers = Array.isArray(config) ? config : (config.layers ?? []);
    if (layers.length === 0) return null;
    const first = layers[0];
    const input =
      first.class_name === 'InputLayer' ? first.config?.name : `${first.config?.name}_input`;
    const last = layers[layers.length - 1].config?.name;
    return input && last ? { inputs: [input], outputs: [last] } : null;
  }
  const config = model.config as { input_layers?: unknown[][]; output_layers?: unknown[][] };
  if (!Array.isArray(config.input_layers) || !Array.isArray(config.output_layers)) return null;
  return {
    inputs: config.input_layers.map((entry) => String(entry[0])),
    outputs: config.output_layers.map((entry) => String(entry[0])),
  };
}
