import { elementByteSize, isDatatype } from './datatype.js';
import { decodeBinaryTensorData } from './binary-tensor.codec.js';
import { type DataRunSource, dataRunIndex, liftDataRuns } from './json-data-runs.js';
import {
  type JsonDecodeContext,
  flattenJsonData,
  jsonValuesToTensorData,
  parseJsonExact,
} from './json-values.js';
import { checkInputAgainstSignature } from './signature.check.js';
import {
  type Tensor,
  type TensorData,
  type TensorParameters,
  type TensorSpec,
  elementCount,
  formatShape,
} from './tensor.js';
import { TensorError } from './tensor.error.js';

/** Which outputs to answer in binary form: all, none, or those named. */
export type BinaryOutputs = 'all' | 'none' | Set<string>;

export interface RequestedOutput {
  name: string;
  parameters?: TensorParameters;
}

export interface InferRequest {
  id?: string;
  parameters?: TensorParameters;
  inputs: Tensor[];
  /** Absent when the request asks for every output. */
  outputs?: RequestedOutput[];
  binaryOutputs: BinaryOutputs;
}

export interface DecodeInferRequestOptions {
  /** The `Inference-Header-Content-Length` header: the JSON part's byte length. */
  headerLength?: number;
  /**
   * Most elements the request's inputs may hold together; a request past it is refused from
   * the shapes alone, before any tensor is allocated. Unlimited when absent.
   */
  maxElements?: number;
  /**
   * The model's inputs: each input's name, datatype and shape are checked against them before
   * its data is read (missing inputs are left to checkInputsAgainstSignature).
   */
  signature?: readonly TensorSpec[];
}

/** What decodeParsedRequest checks each input against before reading its data. */
interface DecodeLimits {
  maxElements: number;
  signature: readonly TensorSpec[] | undefined;
}

/**
 * The most elements `bytes` of JSON can carry in one array: each needs at least one character
 * and a separator (`,` or `]`).
 */
function jsonElementsThatFit(bytes: number): number {
  return Math.floor(bytes / 2);
}

/** Whether output `name` should be written in binary form. */
export function isBinaryOutput(binaryOutputs: BinaryOutputs, name: string): boolean {
  if (binaryOutputs === 'all') return true;
  if (binaryOutputs === 'none') return false;
  return binaryOutputs.has(name);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readParameters(value: unknown, where: string): TensorParameters | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new TensorError(`${where}: 'parameters' must be an object`);
  return value;
}

interface PendingBinaryInput {
  tensor: Tensor;
  byteSize: number;
  where: string;
}

/**
 * Decodes an Open Inference Protocol (KServe v2 / Triton) infer request body into typed tensors,
 * including Triton's binary tensor data extension when `headerLength` is given.
 * Binary numeric tensors alias `body` where aligned: do not reuse the buffer while they live.
 */
export function decodeInferRequest(
  body: Buffer | Uint8Array,
  options: DecodeInferRequestOptions = {},
): InferRequest {
  const buffer = Buffer.isBuffer(body)
    ? body
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const { headerLength } = options;
  if (headerLength !== undefined) {
    if (!Number.isSafeInteger(headerLength) || headerLength < 0 || headerLength > buffer.length) {
      throw new TensorError(
        `Inference-Header-Content-Length ${headerLength} must be an integer between 0 and the body length (${buffer.length} bytes)`,
      );
    }
  }
  const jsonEnd = headerLength ?? buffer.length;
  const hasBinaryPart = headerLength !== undefined;
  const limits: DecodeLimits = {
    maxElements: options.maxElements ?? Infinity,
    signature: options.signature,
  };
  const fast = decodeWithDataRuns(buffer, jsonEnd, hasBinaryPart, limits);
  if (fast !== undefined) return fast;
  const text = buffer.toString('utf8', 0, jsonEnd);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TensorError(`request body is not valid JSON: ${(error as Error).message}`);
  }
  const context: JsonDecodeContext = { exact: false, sawImpreciseInteger: false };
  const request = decodeParsedRequest(parsed, buffer, jsonEnd, hasBinaryPart, context, limits);
  if (!context.sawImpreciseInteger) return request;
  // Some INT64/UINT64 value went past 2^53 and JSON.parse rounded it: read the text again exactly.
  context.exact = true;
  return decodeParsedRequest(parseJsonExact(text), buffer, jsonEnd, hasBinaryPart, context, limits);
}

/**
 * The fast path (json-data-runs): `data` arrays are lifted out before JSON.parse and converted
 * straight into typed arrays. Undefined when the body has no such array, or anything about it
 * is unusual (a run outside an input's `data`, a 64-bit integer past 2^53, an error to report):
 * the body is then decoded the plain way, which also words every error.
 */
function decodeWithDataRuns(
  buffer: Buffer,
  jsonEnd: number,
  hasBinaryPart: boolean,
  limits: DecodeLimits,
): InferRequest | undefined {
  const lifted = liftDataRuns(buffer, jsonEnd);
  if (lifted === undefined) return undefined;
  const context: JsonDecodeContext = {
    exact: false,
    sawImpreciseInteger: false,
    runs: { bytes: buffer, runs: lifted.runs, used: 0 },
  };
  try {
    const request = decodeParsedRequest(
      JSON.parse(lifted.text),
      buffer,
      jsonEnd,
      hasBinaryPart,
      context,
      limits,
    );
    const allUsed = context.runs!.used === lifted.runs.length;
    return allUsed && !context.sawImpreciseInteger ? request : undefined;
  } catch {
    return undefined;
  }
}

/** An input's `data` from a lifted run: FP32 read straight from the bytes, others via JSON.parse. */
function dataFromRun(
  source: DataRunSource,
  index: number,
  datatype: Tensor['datatype'],
  expected: number,
  where: string,
  context: JsonDecodeContext,
): TensorData {
  const run = source.runs[index]!;
  source.used++;
  // The plain path words the error.
  if (run.count !== expected) throw new TensorError(`${where}: element count mismatch`);
  if (datatype === 'FP32') return run.float32;
  const values = flattenJsonData(
    JSON.parse(source.bytes.toString('utf8', run.start, run.end)) as unknown[],
    expected,
  );
  return jsonValuesToTensorData(datatype, values, where, context);
}

/** An input's `data` as JSON.parse gave it, counted against the shape and typed. */
function dataFromJson(
  data: unknown,
  datatype: Tensor['datatype'],
  dims: number[],
  expected: number,
  where: string,
  context: JsonDecodeContext,
): TensorData {
  if (!Array.isArray(data)) throw new TensorError(`${where}: 'data' must be an array`);
  const values = flattenJsonData(data, expected);
  if (values.length !== expected) {
    throw new TensorError(
      `${where}: expected ${expected} elements for shape ${formatShape(dims)}, got ${values.length}`,
    );
  }
  return jsonValuesToTensorData(datatype, values, where, context);
}

function decodeParsedRequest(
  parsed: unknown,
  buffer: Buffer,
  jsonEnd: number,
  hasBinaryPart: boolean,
  context: JsonDecodeContext,
  limits: DecodeLimits,
): InferRequest {
  if (!isPlainObject(parsed)) throw new TensorError('request body must be a JSON object');
  const { id, inputs: rawInputs, outputs: rawOutputs } = parsed;
  if (id !== undefined && typeof id !== 'string')
    throw new TensorError("request 'id' must be a string");
  const parameters = readParameters(parsed.parameters, 'request');
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) {
    throw new TensorError("request 'inputs' must be a non-empty array");
  }

  const inputs: Tensor[] = [];
  const names = new Set<string>();
  const pendingBinary: PendingBinaryInput[] = [];
  let elements = 0;
  for (let index = 0; index < rawInputs.length; index++) {
    const raw: unknown = rawInputs[index];
    if (!isPlainObject(raw)) throw new TensorError(`input ${index}: must be an object`);
    if (typeof raw.name !== 'string' || raw.name === '') {
      throw new TensorError(`input ${index}: 'name' must be a non-empty string`);
    }
    const name = raw.name;
    const where = `input '${name}'`;
    if (names.has(name)) throw new TensorError(`${where}: given more than once`);
    names.add(name);
    if (!isDatatype(raw.datatype)) {
      throw new TensorError(
        `${where}: unknown datatype ${JSON.stringify(raw.datatype) ?? 'undefined'}`,
      );
    }
    const datatype = raw.datatype;
    const shape = raw.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)
    ) {
      throw new TensorError(`${where}: 'shape' must be an array of non-negative integers`);
    }
    const dims = shape as number[];
    // Refused from the shape alone, before anything is allocated for the data (O(rank)).
    if (limits.signature !== undefined) {
      checkInputAgainstSignature(name, datatype, dims, limits.signature);
    }
    const count = elementCount(dims);
    elements += count;
    if (elements > limits.maxElements) {
      throw new TensorError(
        `${where}: the request's inputs hold ${elements} elements by their shapes, more than the ${limits.maxElements} a request may carry`,
      );
    }
    const inputParameters = readParameters(raw.parameters, where);
    const binarySize = inputParameters?.binary_data_size;
    if (binarySize !== undefined) {
      if (!hasBinaryPart) {
        throw new TensorError(
          `${where}: has binary_data_size but the request has no binary part (Inference-Header-Content-Length is missing)`,
        );
      }
      if (!Number.isSafeInteger(binarySize) || (binarySize as number) < 0) {
        throw new TensorError(`${where}: binary_data_size must be a non-negative integer`);
      }
      if (raw.data !== undefined)
        throw new TensorError(`${where}: has both 'data' and binary_data_size`);
      const { binary_data_size: _size, ...rest } = inputParameters as TensorParameters;
      const tensor: Tensor = { name, datatype, shape: dims, data: [] };
      if (Object.keys(rest).length > 0) tensor.parameters = rest;
      inputs.push(tensor);
      pendingBinary.push({ tensor, byteSize: binarySize as number, where });
      continue;
    }
    if (count > jsonElementsThatFit(jsonEnd)) {
      throw new TensorError(
        `${where}: shape ${formatShape(dims)} holds ${count} elements but ${jsonEnd} bytes of JSON can carry at most ${jsonElementsThatFit(jsonEnd)}`,
      );
    }
    const runIndex = context.runs === undefined ? -1 : dataRunIndex(raw.data);
    const tensor: Tensor = {
      name,
      datatype,
      shape: dims,
      data:
        runIndex >= 0
          ? dataFromRun(context.runs!, runIndex, datatype, count, where, context)
          : dataFromJson(raw.data, datatype, dims, count, where, context),
    };
    if (inputParameters !== undefined) tensor.parameters = inputParameters;
    inputs.push(tensor);
  }

  readBinaryInputs(pendingBinary, buffer, jsonEnd);

  const request: InferRequest = { inputs, binaryOutputs: 'none' };
  if (id !== undefined) request.id = id;
  if (parameters !== undefined) request.parameters = parameters;
  const binaryByDefault = parameters?.binary_data_output;
  if (binaryByDefault !== undefined && typeof binaryByDefault !== 'boolean') {
    throw new TensorError("request parameter 'binary_data_output' must be a boolean");
  }
  if (rawOutputs === undefined) {
    request.binaryOutputs = binaryByDefault === true ? 'all' : 'none';
    return request;
  }
  if (!Array.isArray(rawOutputs)) throw new TensorError("request 'outputs' must be an array");
  const outputs: RequestedOutput[] = [];
  const binaryNames = new Set<string>();
  const outputNames = new Set<string>();
  for (let index = 0; index < rawOutputs.length; index++) {
    const raw: unknown = rawOutputs[index];
    if (!isPlainObject(raw) || typeof raw.name !== 'string' || raw.name === '') {
      throw new TensorError(`output ${index}: must be an object with a non-empty string 'name'`);
    }
    const where = `output '${raw.name}'`;
    if (outputNames.has(raw.name)) throw new TensorError(`${where}: requested more than once`);
    outputNames.add(raw.name);
    const outputParameters = readParameters(raw.parameters, where);
    const binary = outputParameters?.binary_data;
    if (binary !== undefined && typeof binary !== 'boolean') {
      throw new TensorError(`${where}: parameter 'binary_data' must be a boolean`);
    }
    // A per-output setting overrides the request-level default.
    if (binary ?? binaryByDefault === true) binaryNames.add(raw.name);
    const output: RequestedOutput = { name: raw.name };
    if (outputParameters !== undefined) output.parameters = outputParameters;
    outputs.push(output);
  }
  request.outputs = outputs;
  request.binaryOutputs = binaryNames.size === 0 ? 'none' : binaryNames;
  return request;
}

function readBinaryInputs(pending: PendingBinaryInput[], buffer: Buffer, jsonEnd: number): void {
  const available = buffer.length - jsonEnd;
  let declared = 0;
  for (const input of pending) {
    const { datatype, shape } = input.tensor;
    const byteSize = elementByteSize(datatype);
    if (byteSize !== null && input.byteSize !== elementCount(shape) * byteSize) {
      throw new TensorError(
        `${input.where}: binary_data_size is ${input.byteSize} bytes but shape ${formatShape(shape)} of ${datatype} needs ${elementCount(shape) * byteSize}`,
      );
    }
    declared += input.byteSize;
  }
  if (declared !== available) {
    const names = pending.map((input) => `'${input.tensor.name}'`).join(', ') || 'no inputs';
    throw new TensorError(
      `binary data sizes of ${names} add up to ${declared} bytes but the body carries ${available} bytes after the JSON header`,
    );
  }
  let offset = jsonEnd;
  for (const input of pending) {
    const bytes = buffer.subarray(offset, offset + input.byteSize);
    offset += input.byteSize;
    input.tensor.data = decodeBinaryTensorData(
      input.tensor.datatype,
      input.tensor.shape,
      bytes,
      input.where,
    );
  }
}
