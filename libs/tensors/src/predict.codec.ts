import { isFixedSizeDatatype } from './datatype.js';
import { dataRunIndex, liftDataRuns } from './json-data-runs.js';
import { type JsonDecodeContext, jsonValuesToTensorData, parseJsonExact } from './json-values.js';
import { tensorDataJson } from './json-writer.js';
import { PackedBytes } from './packed-bytes.js';
import { checkInputAgainstSignature, checkInputsAgainstSignature } from './signature.check.js';
import {
  type Tensor,
  type TensorSpec,
  assertValidTensor,
  elementCount,
  formatShape,
} from './tensor.js';
import { TensorError } from './tensor.error.js';

/** TF Serving's two request/response layouts: `instances`/`predictions` and `inputs`/`outputs`. */
export type PredictFormat = 'row' | 'columnar';

export interface PredictRequest {
  signatureName?: string;
  format: PredictFormat;
  inputs: Tensor[];
}

export interface DecodePredictOptions {
  /**
   * Most elements the request's inputs may hold together; past it the request is refused from
   * the shape of its JSON nesting, before its values are gathered. Unlimited when absent.
   */
  maxElements?: number;
}

/**
 * Each input's shape, read off the nesting before its values are gathered, is checked against
 * its spec (rank, fixed dims) and counted against the request's element cap.
 */
class InputAdmission {
  private elements = 0;

  constructor(private readonly maxElements: number) {}

  admit(spec: TensorSpec, shape: readonly number[]): void {
    checkInputAgainstSignature(spec.name, spec.datatype, shape, [spec]);
    this.elements += elementCount(shape);
    if (this.elements > this.maxElements) {
      throw new TensorError(
        `input '${spec.name}': the request's inputs hold ${this.elements} elements, more than the ${this.maxElements} a request may carry`,
      );
    }
  }
}

export interface EncodedPredictResponse {
  body: Buffer;
  contentType: string;
}

/** An FP32 value read straight from the body's text (json-data-runs): its shape and numbers. */
class LiftedFloats {
  constructor(
    readonly shape: number[],
    readonly data: Float32Array,
  ) {}
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof LiftedFloats)
  );
}

function isBase64Value(value: unknown): value is { b64: string } {
  return isPlainObject(value) && typeof value.b64 === 'string' && Object.keys(value).length === 1;
}

/** An object keyed by input name, as opposed to a value (which may be `{"b64": ...}`). */
function isNamedInputs(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && !isBase64Value(value);
}

/** Shape of a nested JSON value, following the first element at each level. */
function inferShape(value: unknown): number[] {
  const shape: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    shape.push(current.length);
    if (current.length === 0) break;
    current = current[0];
  }
  return shape;
}

/** Appends the leaves of `value` to `out`, checking it is a regular array of `shape`. */
function flattenRegular(
  value: unknown,
  shape: readonly number[],
  depth: number,
  out: unknown[],
  where: string,
): void {
  if (depth === shape.length) {
    if (Array.isArray(value))
      throw new TensorError(
        `${where}: ragged or irregular nesting (expected shape ${formatShape(shape)})`,
      );
    out.push(value);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw new TensorError(
      `${where}: ragged or irregular nesting (expected shape ${formatShape(shape)})`,
    );
  }
  for (const item of value) flattenRegular(item, shape, depth + 1, out, where);
}

function leavesToTensor(
  spec: TensorSpec,
  shape: number[],
  leaves: unknown[],
  context: JsonDecodeContext,
): Tensor {
  const where = `input '${spec.name}'`;
  if (!isFixedSizeDatatype(spec.datatype)) {
    const hasBase64 = leaves.some(isBase64Value);
    const data = leaves.map((leaf, index) => {
      if (isBase64Value(leaf)) return Buffer.from(leaf.b64, 'base64');
      if (typeof leaf !== 'string') {
        throw new TensorError(`${where}: element ${index} must be a string or {"b64": ...}`);
      }
      return hasBase64 ? Buffer.from(leaf, 'utf8') : leaf;
    });
    return { name: spec.name, datatype: spec.datatype, shape, data: data as string[] | Buffer[] };
  }
  const data = jsonValuesToTensorData(spec.datatype, leaves, where, context);
  return { name: spec.name, datatype: spec.datatype, shape, data };
}

function specFor(specs: ReadonlyMap<string, TensorSpec>, name: string): TensorSpec {
  const spec = specs.get(name);
  if (spec === undefined) {
    const known = [...specs.keys()].map((key) => `'${key}'`).join(', ');
    throw new TensorError(`input '${name}': the model has no such input (its inputs: ${known})`);
  }
  return spec;
}

function columnarTensor(
  spec: TensorSpec,
  value: unknown,
  context: JsonDecodeContext,
  admission: InputAdmission,
): Tensor {
  if (value instanceof LiftedFloats) {
    admission.admit(spec, value.shape);
    return { name: spec.name, datatype: spec.datatype, shape: value.shape, data: value.data };
  }
  const shape = inferShape(value);
  admission.admit(spec, shape);
  const leaves: unknown[] = [];
  flattenRegular(value, shape, 0, leaves, `input '${spec.name}'`);
  return leavesToTensor(spec, shape, leaves, context);
}

function rowTensors(
  instances: unknown[],
  signature: readonly TensorSpec[],
  specs: ReadonlyMap<string, TensorSpec>,
  context: JsonDecodeContext,
  admission: InputAdmission,
): Tensor[] {
  const first = instances[0];
  const single = signature.length === 1 ? signature[0] : undefined;
  // With one input an instance is the value itself, unless it is an object keyed by that name.
  if (single !== undefined && !isNamedInputs(first)) {
    const valueShape = inferShape(first);
    admission.admit(single, [instances.length, ...valueShape]);
    const leaves: unknown[] = [];
    instances.forEach((instance, index) =>
      flattenRegular(instance, valueShape, 0, leaves, `input '${single.name}' (instance ${index})`),
    );
    return [leavesToTensor(single, [instances.length, ...valueShape], leaves, context)];
  }
  if (!isNamedInputs(first)) {
    throw new TensorError(
      "each entry of 'instances' must be an object keyed by input name when the model has several inputs",
    );
  }
  const names = Object.keys(first);
  return names.map((name) => {
    const spec = specFor(specs, name);
    if (first[name] instanceof LiftedFloats) return stackedRows(spec, instances, names, admission);
    const valueShape = inferShape(first[name]);
    admission.admit(spec, [instances.length, ...valueShape]);
    const leaves: unknown[] = [];
    instances.forEach((instance, index) => {
      if (!isNamedInputs(instance) || !Object.hasOwn(instance, name)) {
        throw new TensorError(`input '${name}': missing from instance ${index}`);
      }
      if (Object.keys(instance).length !== names.length) {
        throw new TensorError(`instance ${index} names different inputs than instance 0`);
      }
      flattenRegular(instance[name], valueShape, 0, leaves, `input '${name}' (instance ${index})`);
    });
    return leavesToTensor(spec, [instances.length, ...valueShape], leaves, context);
  });
}

/**
 * Input `names[i]`'s FP32 rows, each read straight from the text, stacked into one tensor. Every
 * instance must name the same inputs and give this one the same shape; anything else is thrown
 * back to the plain path, which words the error.
 */
function stackedRows(
  spec: TensorSpec,
  instances: unknown[],
  names: string[],
  admission: InputAdmission,
): Tensor {
  const { name } = spec;
  const rows = instances.map((instance) =>
    isNamedInputs(instance) && Object.keys(instance).length === names.length
      ? instance[name]
      : undefined,
  );
  const { shape } = rows[0] as LiftedFloats;
  const shapeText = formatShape(shape);
  // Every row is checked before the stack is allocated: its size is instance 0's times the
  // number of instances, which a body of tiny instances could otherwise inflate.
  rows.forEach((row, index) => {
    if (!(row instanceof LiftedFloats) || formatShape(row.shape) !== shapeText) {
      throw new TensorError(`input '${name}': instance ${index} differs from instance 0`);
    }
  });
  admission.admit(spec, [rows.length, ...shape]);
  const size = elementCount(shape);
  const data = new Float32Array(size * rows.length);
  rows.forEach((row, index) => data.set((row as LiftedFloats).data, index * size));
  return { name, datatype: spec.datatype, shape: [rows.length, ...shape], data };
}

function decodeParsed(
  parsed: unknown,
  signature: readonly TensorSpec[],
  context: JsonDecodeContext,
  maxElements: number,
): PredictRequest {
  if (!isPlainObject(parsed)) throw new TensorError('request body must be a JSON object');
  const hasInstances = Object.hasOwn(parsed, 'instances');
  const hasInputs = Object.hasOwn(parsed, 'inputs');
  if (hasInstances === hasInputs) {
    throw new TensorError(
      "request must have exactly one of 'instances' (row format) or 'inputs' (columnar format)",
    );
  }
  const signatureName = parsed.signature_name;
  if (signatureName !== undefined && typeof signatureName !== 'string') {
    throw new TensorError("'signature_name' must be a string");
  }
  const specs = new Map(signature.map((spec) => [spec.name, spec]));
  const admission = new InputAdmission(maxElements);
  let inputs: Tensor[];
  let format: PredictFormat;
  if (hasInstances) {
    format = 'row';
    const instances = parsed.instances;
    const single = signature.length === 1 ? signature[0] : undefined;
    if (instances instanceof LiftedFloats && single !== undefined && instances.shape[0]! > 0) {
      inputs = [columnarTensor(single, instances, context, admission)];
    } else if (!Array.isArray(instances) || instances.length === 0) {
      throw new TensorError("'instances' must be a non-empty list");
    } else {
      inputs = rowTensors(instances, signature, specs, context, admission);
    }
  } else {
    format = 'columnar';
    const value = parsed.inputs;
    const single = signature.length === 1 ? signature[0] : undefined;
    if (single !== undefined && !isNamedInputs(value)) {
      inputs = [columnarTensor(single, value, context, admission)];
    } else if (isNamedInputs(value)) {
      inputs = Object.entries(value).map(([name, inputValue]) =>
        columnarTensor(specFor(specs, name), inputValue, context, admission),
      );
    } else {
      throw new TensorError(
        "'inputs' must be an object keyed by input name when the model has several inputs",
      );
    }
  }
  checkInputsAgainstSignature(inputs, signature);
  const request: PredictRequest = { format, inputs };
  if (signatureName !== undefined) request.signatureName = signatureName;
  return request;
}

/**
 * Decodes a TF Serving REST predict body (raw bytes, text, or already-parsed JSON) against the
 * model's input signature. Datatypes come from the signature; shapes from the JSON nesting.
 */
export function decodePredictRequest(
  body: Buffer | Uint8Array | string | unknown,
  signature: readonly TensorSpec[],
  options: DecodePredictOptions = {},
): PredictRequest {
  const maxElements = options.maxElements ?? Infinity;
  if (body instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(body)
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const fast = decodePredictWithDataRuns(bytes, signature, maxElements);
    if (fast !== undefined) return fast;
  }
  let text: string | undefined;
  let parsed: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    text =
      typeof body === 'string'
        ? body
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new TensorError(`request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const context: JsonDecodeContext = { exact: false, sawImpreciseInteger: false };
  const request = decodeParsed(parsed, signature, context, maxElements);
  if (!context.sawImpreciseInteger || text === undefined) return request;
  context.exact = true;
  return decodeParsed(parseJsonExact(text), signature, context, maxElements);
}

/**
 * The fast path (json-data-runs): number arrays under `instances`, `inputs` or an input's name
 * are lifted out before JSON.parse; FP32 ones are taken as read, others parsed from their text.
 * Undefined when the body has none, or anything is unusual (a run elsewhere, a 64-bit integer
 * past 2^53, an error to report): the plain path then decodes it and words every error.
 */
export function decodePredictWithDataRuns(
  bytes: Buffer,
  signature: readonly TensorSpec[],
  maxElements = Infinity,
): PredictRequest | undefined {
  const specs = new Map(signature.map((spec) => [spec.name, spec]));
  const lifted = liftDataRuns(
    bytes,
    bytes.length,
    new Set(['instances', 'inputs', ...specs.keys()]),
  );
  if (lifted === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(lifted.text);
    if (!isPlainObject(parsed)) return undefined;
    let used = 0;
    const single = signature.length === 1 ? signature[0] : undefined;
    const resolve = (value: unknown, spec: TensorSpec | undefined): unknown => {
      const index = dataRunIndex(value);
      if (index < 0) return value;
      used++;
      const run = lifted.runs[index]!;
      if (spec?.datatype === 'FP32') return new LiftedFloats(run.shape, run.float32);
      return JSON.parse(bytes.toString('utf8', run.start, run.end));
    };
    const resolveNamed = (values: Record<string, unknown>) => {
      for (const name of Object.keys(values)) values[name] = resolve(values[name], specs.get(name));
    };
    for (const key of ['instances', 'inputs'] as const) {
      if (!Object.hasOwn(parsed, key)) continue;
      const value = parsed[key];
      if (key === 'instances' && Array.isArray(value)) {
        for (const instance of value) if (isNamedInputs(instance)) resolveNamed(instance);
      } else if (key === 'inputs' && isNamedInputs(value)) {
        resolveNamed(value);
      } else {
        parsed[key] = resolve(value, single);
      }
    }
    if (used !== lifted.runs.length) return undefined;
    const context: JsonDecodeContext = { exact: false, sawImpreciseInteger: false };
    const request = decodeParsed(parsed, signature, context, maxElements);
    return context.sawImpreciseInteger ? undefined : request;
  } catch {
    return undefined;
  }
}

function base64ArrayJson(elements: readonly (string | Buffer)[]): string {
  const parts = elements.map((element) => {
    const bytes = typeof element === 'string' ? Buffer.from(element, 'utf8') : element;
    return `{"b64":"${bytes.toString('base64')}"}`;
  });
  return `[${parts.join(',')}]`;
}

/** Nested JSON of the elements [start, start + elementCount(shape)) of `tensor`. */
function nestedJson(
  tensor: Tensor,
  shape: readonly number[],
  start: number,
  asBase64: boolean,
): string {
  if (shape.length === 0) {
    const scalar = sliceData(tensor, start, start + 1);
    const text = asBase64
      ? base64ArrayJson(scalar as (string | Buffer)[])
      : tensorDataJson({ ...tensor, data: scalar });
    return text.slice(1, -1);
  }
  if (shape.length === 1) {
    const flat = sliceData(tensor, start, start + (shape[0] as number));
    return asBase64
      ? base64ArrayJson(flat as (string | Buffer)[])
      : tensorDataJson({ ...tensor, data: flat });
  }
  const inner = shape.slice(1);
  const innerSize = elementCount(inner);
  const parts = new Array<string>(shape[0] as number);
  for (let i = 0; i < parts.length; i++)
    parts[i] = nestedJson(tensor, inner, start + i * innerSize, asBase64);
  return `[${parts.join(',')}]`;
}

function sliceData(tensor: Tensor, start: number, end: number): Tensor['data'] {
  return Array.isArray(tensor.data)
    ? (tensor.data.slice(start, end) as string[] | Buffer[])
    : (tensor.data as Uint8Array).subarray(start, end);
}

function isBase64Output(tensor: Tensor): boolean {
  return tensor.datatype === 'BYTES' && tensor.name.endsWith('_bytes');
}

/**
 * Encodes a TF Serving REST predict response: `{"predictions": [...]}` (row) or
 * `{"outputs": ...}` (columnar); one output is written bare, several keyed by name.
 * BYTES outputs named `*_bytes` are written as `{"b64": ...}`; INT64 as exact integers.
 */
export function encodePredictResponse(
  given: readonly Tensor[],
  format: PredictFormat,
): EncodedPredictResponse {
  if (given.length === 0)
    throw new TensorError('a predict response needs at least one output', 'INTERNAL');
  for (const output of given) assertValidTensor(output, 'output');
  // Packed BYTES are written element by element here: one entry per element.
  const outputs = given.map((output) =>
    output.data instanceof PackedBytes ? { ...output, data: output.data.toBuffers() } : output,
  );
  let json: string;
  if (format === 'columnar') {
    const values = outputs.map((output) =>
      nestedJson(output, output.shape, 0, isBase64Output(output)),
    );
    json =
      outputs.length === 1
        ? `{"outputs":${values[0]}}`
        : `{"outputs":{${outputs.map((output, i) => `${JSON.stringify(output.name)}:${values[i]}`).join(',')}}}`;
  } else {
    const first = outputs[0] as Tensor;
    for (const output of outputs) {
      if (output.shape.length === 0) {
        throw new TensorError(
          `output '${output.name}': the row format needs a batch dimension; use the columnar format ('inputs')`,
        );
      }
      if (output.shape[0] !== first.shape[0]) {
        throw new TensorError(
          `output '${output.name}': batch size ${output.shape[0]} differs from output '${first.name}' (${first.shape[0]}); use the columnar format ('inputs')`,
        );
      }
    }
    const rows = first.shape[0] as number;
    const predictions = new Array<string>(rows);
    for (let row = 0; row < rows; row++) {
      const entries = outputs.map((output) => {
        const inner = output.shape.slice(1);
        return nestedJson(output, inner, row * elementCount(inner), isBase64Output(output));
      });
      predictions[row] =
        outputs.length === 1
          ? (entries[0] as string)
          : `{${outputs.map((output, i) => `${JSON.stringify(output.name)}:${entries[i]}`).join(',')}}`;
    }
    json = `{"predictions":[${predictions.join(',')}]}`;
  }
  return { body: Buffer.from(json, 'utf8'), contentType: 'application/json' };
}
