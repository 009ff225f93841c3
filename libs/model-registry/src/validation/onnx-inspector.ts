import { type OnnxModel, type OnnxValueInfo, decodeModel, toV2Datatype } from '@maas/onnx';
import * as ort from 'onnxruntime-node';
import { assertSelfContainedOnnx } from './onnx-sandbox-check.js';
import { ortSessionOptions } from './ort-session-options.js';
import { InvalidModelError } from './validation-errors.js';

export interface TensorSpec {
  name: string;
  /** Open Inference Protocol (v2) datatype: FP32, INT64, BYTES, BOOL... */
  datatype: string;
  /** -1 for a free or symbolic dimension (and [-1] when even the rank is unknown). */
  shape: number[];
}

export interface OpsetSpec {
  /** 'ai.onnx' for the default domain. */
  domain: string;
  version: number;
}

export interface OnnxModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  opsets: OpsetSpec[];
}

/**
 * Proves the bytes load in onnxruntime (the engine that will serve them) and reads the
 * graph's inputs and outputs. Anything unloadable or unservable is an InvalidModelError, and
 * so is a model that is not self-contained (checked before onnxruntime sees the bytes).
 */
export async function inspectOnnxModel(bytes: Uint8Array): Promise<OnnxModelSignature> {
  if (bytes.byteLength === 0) throw new InvalidModelError('the model file is empty');
  assertSelfContainedOnnx(bytes);

  let session: ort.InferenceSession;
  try {
    // The worker's own session options (optimisation level included), so that what validates
    // is what loads; ORT's warnings kept out of our logs; one thread each, as nothing runs (no
    // thread pool to start, no cores taken from serving).
    session = await ort.InferenceSession.create(
      bytes,
      ortSessionOptions({ logSeverityLevel: 3, intraOpThreads: 1, interOpThreads: 1 }),
    );
  } catch (error) {
    throw new InvalidModelError(`not a loadable ONNX model: ${describe(error)}`, { cause: error });
  }
  // Released before decoding, so that ORT's copy of the weights and the decoded graph are
  // never in memory together (the validator's memory cap counts both).
  await session.release();
  return readSignature(bytes);
}

function readSignature(bytes: Uint8Array): OnnxModelSignature {
  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    throw new InvalidModelError(`not a readable ONNX model: ${describe(error)}`, { cause: error });
  }
  // Older exporters list initializers among the graph inputs; callers cannot feed those.
  const initializers = new Set(model.graph.initializer.map((tensor) => tensor.name));
  return {
    inputs: model.graph.input
      .filter((input) => !initializers.has(input.name))
      .map((input) => toTensorSpec(input, 'input')),
    outputs: model.graph.output.map((output) => toTensorSpec(output, 'output')),
    opsets: model.opsetImport.map((opset) => ({
      domain: opset.domain === '' ? 'ai.onnx' : opset.domain,
      version: opset.version,
    })),
  };
}

function toTensorSpec(info: OnnxValueInfo, role: 'input' | 'output'): TensorSpec {
  const tensorType = info.type?.tensorType;
  if (!tensorType) {
    const kind = info.type ? Object.keys(info.type).find((key) => key !== 'denotation') : undefined;
    throw new InvalidModelError(
      `${role} '${info.name}' is ${kind ? `a ${kind.replace(/Type$/, '')}` : 'untyped'}; only tensor inputs and outputs can be served` +
        (kind === 'sequenceType' ? ' (export classifiers without ZipMap)' : ''),
    );
  }
  const datatype = toV2Datatype(tensorType.elemType);
  if (!datatype) {
    throw new InvalidModelError(
      `${role} '${info.name}' has ONNX element type ${tensorType.elemType}, which cannot be served`,
    );
  }
  const shape = tensorType.shape
    ? tensorType.shape.dim.map((dim) =>
        dim.dimValue !== undefined && dim.dimValue > 0 ? dim.dimValue : -1,
      )
    : [-1];
  return { name: info.name, datatype, shape };
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim() || 'unknown error';
}
