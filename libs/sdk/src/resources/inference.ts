import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import {
  decodeInferResponse,
  type DecodedInferResponse,
  encodeBinaryInferRequest,
  encodeJsonInferRequest,
  type TensorInput,
  type TensorInputData,
  type TensorOutput,
  type TensorParameters,
} from '../tensors/tensor-codec.js';
import type {
  TfServingModelMetadata,
  TfServingModelStatus,
  TfServingPredictRequest,
  TfServingPredictResponse,
  V2ModelMetadata,
  V2ServerMetadata,
} from '../types.js';

export interface InferOptions extends CallOptions {
  /** A version number; without it the label `production`, else the newest ready version. */
  version?: number | string;
  /**
   * Send the inputs in the binary tensor data extension (raw little-endian bytes after a JSON
   * header) instead of JSON; also asks for binary outputs unless `binaryOutput` says no.
   */
  binary?: boolean;
  /** Ask for the outputs as binary data (defaults to `binary`). */
  binaryOutput?: boolean;
  /** Outputs to answer (all when absent). */
  outputs?: readonly string[];
  /** The request's id, echoed in the answer. */
  id?: string;
  parameters?: TensorParameters;
}

export interface InferResult extends DecodedInferResponse {
  /** The output called `name` (throws when the answer has none). */
  output(name: string): TensorOutput;
}

/** Inputs as a list, or by name (`{input: new Float32Array(…)}` or a full `TensorInput`). */
export type InferInputs =
  readonly TensorInput[] | Record<string, TensorInputData | Omit<TensorInput, 'name'>>;

function inputList(inputs: InferInputs): TensorInput[] {
  if (Array.isArray(inputs)) return inputs as TensorInput[];
  return Object.entries(inputs).map(([name, value]) =>
    ArrayBuffer.isView(value) || Array.isArray(value)
      ? { name, data: value as TensorInputData }
      : { name, ...(value as Omit<TensorInput, 'name'>) },
  );
}

/** `?version` / `?label` of the TF Serving routes, as path segments. */
export interface V1Target {
  version?: number | string;
  label?: string;
}

function v2ModelPath(model: string, version?: number | string): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return version === undefined ? base : `${base}/versions/${encodeURIComponent(String(version))}`;
}

function v1ModelPath(model: string, target: V1Target = {}): string {
  const base = `/v1/models/${encodeURIComponent(model)}`;
  if (target.version !== undefined) {
    return `${base}/versions/${encodeURIComponent(String(target.version))}`;
  }
  if (target.label !== undefined) return `${base}/labels/${encodeURIComponent(target.label)}`;
  return base;
}

/** Serving: the Open Inference Protocol (v2) with typed tensors, and TF Serving's REST (v1). */
export class Inference {
  constructor(private readonly transport: Transport) {}

  /**
   * Runs the model. Inputs are typed arrays (or plain arrays, strings for BYTES); outputs come
   * back typed by datatype (`Float32Array` for FP32, `BigInt64Array` for INT64, `string[]` for
   * BYTES, …), the same whether the answer was JSON or binary. Inference changes nothing, so
   * a 429 or 503 is retried after `Retry-After`.
   */
  async infer(
    model: string,
    inputs: InferInputs,
    options: InferOptions = {},
  ): Promise<InferResult> {
    const list = inputList(inputs);
    const requestOptions = {
      id: options.id,
      parameters: options.parameters,
      outputs: options.outputs,
      binaryOutput: options.binaryOutput ?? (options.binary ? true : undefined),
    };
    const path = `${v2ModelPath(model, options.version)}/infer`;
    let body: Uint8Array | string;
    const headers: Record<string, string> = { ...options.headers };
    if (options.binary) {
      const encoded = encodeBinaryInferRequest(list, requestOptions);
      body = encoded.body;
      headers['content-type'] = 'application/octet-stream';
      headers['inference-header-content-length'] = String(encoded.headerLength);
    } else {
      body = encodeJsonInferRequest(list, requestOptions);
      headers['content-type'] = 'application/json';
    }
    const response = await this.transport.sendOk({
      method: 'POST',
      path,
      headers,
      body: () => body,
      signal: options.signal,
    });
    const headerLength = response.headers.get('inference-header-content-length');
    const bytes = new Uint8Array(await response.arrayBuffer());
    const decoded = decodeInferResponse(
      bytes,
      headerLength === null ? undefined : Number(headerLength),
    );
    return {
      ...decoded,
      output(name: string): TensorOutput {
        const found = decoded.outputs.find((o) => o.name === name);
        if (!found) {
          const names = decoded.outputs.map((o) => o.name).join(', ');
          throw new Error(`the answer has no output '${name}' (it has: ${names})`);
        }
        return found;
      },
    };
  }

  /** The model's (or one version's) inputs and outputs. */
  metadata(
    model: string,
    version?: number | string,
    options: CallOptions = {},
  ): Promise<V2ModelMetadata> {
    return this.transport.json({
      method: 'GET',
      path: v2ModelPath(model, version),
      signal: options.signal,
      headers: options.headers,
    });
  }

  /** Whether the model (or version) is ready to serve. */
  async ready(model: string, version?: number | string, options: CallOptions = {}) {
    const answer = await this.transport.json<{ ready: boolean }>({
      method: 'GET',
      path: `${v2ModelPath(model, version)}/ready`,
      signal: options.signal,
      headers: options.headers,
    });
    return answer.ready;
  }

  /** The server's name, version and protocol extensions (no credentials needed). */
  server(options: CallOptions = {}): Promise<V2ServerMetadata> {
    return this.transport.call('get', '/v2', options, 'none');
  }

  /** TF Serving `:predict` (`instances` rows or columnar `inputs`). */
  predict(
    model: string,
    body: TfServingPredictRequest,
    target: V1Target & CallOptions = {},
  ): Promise<TfServingPredictResponse> {
    const text = JSON.stringify(body);
    return this.transport.json({
      method: 'POST',
      path: `${v1ModelPath(model, target)}:predict`,
      headers: { 'content-type': 'application/json', ...target.headers },
      body: () => text,
      signal: target.signal,
    });
  }

  /** TF Serving model status. */
  status(model: string, target: V1Target & CallOptions = {}): Promise<TfServingModelStatus> {
    return this.transport.json({
      method: 'GET',
      path: v1ModelPath(model, target),
      signal: target.signal,
      headers: target.headers,
    });
  }

  /** TF Serving signature metadata. */
  signature(model: string, target: V1Target & CallOptions = {}): Promise<TfServingModelMetadata> {
    return this.transport.json({
      method: 'GET',
      path: `${v1ModelPath(model, target)}/metadata`,
      signal: target.signal,
      headers: target.headers,
    });
  }
}
