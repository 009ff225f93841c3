import { encodeBinaryTensorData } from './binary-tensor.codec.js';
import { type BinaryOutputs, isBinaryOutput } from './infer-request.decoder.js';
import { tensorDataJson } from './json-writer.js';
import { type Tensor, type TensorParameters, assertValidTensor } from './tensor.js';

export interface InferResponse {
  modelName: string;
  modelVersion?: string;
  /** Echo of the request's id. */
  id?: string;
  parameters?: TensorParameters;
  outputs: Tensor[];
}

export interface EncodeInferResponseOptions {
  /** Usually the decoded request's `binaryOutputs`; defaults to 'none'. */
  binaryOutputs?: BinaryOutputs;
}

export interface EncodedInferResponse {
  body: Buffer;
  /** Set when binary outputs follow the JSON: send it as `Inference-Header-Content-Length`. */
  headerLength?: number;
  contentType: string;
}

/**
 * Encodes an Open Inference Protocol infer response. JSON outputs carry flat `data`
 * (INT64 as exact integer literals, BOOL as true/false, FP16/BF16 as the numbers they encode,
 * NaN/Infinity as null); binary outputs carry `parameters.binary_data_size` and their raw
 * little-endian bytes follow the JSON header in output order.
 */
export function encodeInferResponse(
  response: InferResponse,
  options: EncodeInferResponseOptions = {},
): EncodedInferResponse {
  const binaryOutputs = options.binaryOutputs ?? 'none';
  const binaryChunks: Buffer[] = [];
  const outputParts = new Array<string>(response.outputs.length);
  for (let i = 0; i < response.outputs.length; i++) {
    const output = response.outputs[i] as Tensor;
    assertValidTensor(output, 'output');
    let part = `{"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}","shape":[${output.shape.join(',')}]`;
    if (isBinaryOutput(binaryOutputs, output.name)) {
      const bytes = encodeBinaryTensorData(output);
      binaryChunks.push(bytes);
      part += `,"parameters":${JSON.stringify({ ...output.parameters, binary_data_size: bytes.length })}}`;
    } else {
      if (output.parameters !== undefined)
        part += `,"parameters":${JSON.stringify(output.parameters)}`;
      part += `,"data":${tensorDataJson(output)}}`;
    }
    outputParts[i] = part;
  }
  let json = `{"model_name":${JSON.stringify(response.modelName)}`;
  if (response.modelVersion !== undefined)
    json += `,"model_version":${JSON.stringify(response.modelVersion)}`;
  if (response.id !== undefined) json += `,"id":${JSON.stringify(response.id)}`;
  if (response.parameters !== undefined)
    json += `,"parameters":${JSON.stringify(response.parameters)}`;
  json += `,"outputs":[${outputParts.join(',')}]}`;

  const header = Buffer.from(json, 'utf8');
  if (binaryChunks.length === 0) return { body: header, contentType: 'application/json' };
  return {
    body: Buffer.concat([header, ...binaryChunks]),
    headerLength: header.length,
    contentType: 'application/octet-stream',
  };
}
