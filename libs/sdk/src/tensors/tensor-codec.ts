import { DATATYPES, type Datatype, TYPED_ARRAYS, type TypedArrayByDatatype } from './datatypes.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';

export { DATATYPES, type Datatype } from './datatypes.js';

export type TensorParameters = Record<string, string | number | boolean>;

/** The typed arrays tensors of fixed-size datatypes are held in. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/**
 * What an input's data can be. Typed arrays name their datatype (Uint8Array is UINT8 unless
 * `datatype: 'BOOL'`, Uint16Array UINT16 unless `'FP16'`, then raw half bits); plain arrays:
 * booleans are BOOL, strings and byte arrays BYTES, bigints INT64 and numbers FP32 unless
 * `datatype` says otherwise. FP16 also takes numbers (Float32Array, number[]).
 */
export type TensorInputData =
  | NumericArray
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | readonly string[]
  | readonly Uint8Array[];

export interface TensorInput {
  name: string;
  data: TensorInputData;
  /** Defaults to `[data.length]`. */
  shape?: readonly number[];
  datatype?: Datatype;
  parameters?: TensorParameters;
}

/** How each datatype's output data is given back: in its typed array, but for these. */
export interface OutputDataByDatatype extends Omit<TypedArrayByDatatype, 'BOOL' | 'FP16'> {
  BOOL: boolean[];
  /** Values (not bits), widened to float32. */
  FP16: Float32Array;
  /** UTF-8 decoded. */
  BYTES: string[];
}

/** One output tensor; narrowing on `datatype` types `data`. */
export type TensorOutput = {
  [D in Datatype]: {
    name: string;
    datatype: D;
    shape: number[];
    data: OutputDataByDatatype[D];
    parameters?: TensorParameters;
  };
}[Datatype];

type FixedDatatype = Exclude<Datatype, 'BYTES' | 'BOOL' | 'FP16'>;

export interface ArrayConstructorOf {
  new (length: number): NumericArray;
  new (buffer: ArrayBuffer): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
}

const CONSTRUCTORS: Record<FixedDatatype | 'BOOL' | 'FP16', ArrayConstructorOf> = TYPED_ARRAYS;

/**
 * The typed array a fixed-size datatype's elements are held in (BOOL as 0/1 bytes, FP16 as
 * its bits).
 */
export function typedArrayFor(datatype: Exclude<Datatype, 'BYTES'>): ArrayConstructorOf {
  return CONSTRUCTORS[datatype];
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An input in wire form: fixed types as a typed array of their datatype, BYTES as bytes. */
interface WireTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  parameters?: TensorParameters;
  values: NumericArray | Uint8Array[];
}

function datatypeOf(data: TensorInputData, name: string): Datatype {
  if (data instanceof Float32Array) return 'FP32';
  if (data instanceof Float64Array) return 'FP64';
  if (data instanceof Int8Array) return 'INT8';
  if (data instanceof Int16Array) return 'INT16';
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof BigInt64Array) return 'INT64';
  if (data instanceof Uint8Array) return 'UINT8';
  if (data instanceof Uint16Array) return 'UINT16';
  if (data instanceof Uint32Array) return 'UINT32';
  if (data instanceof BigUint64Array) return 'UINT64';
  const first = (data as readonly unknown[])[0];
  if (first === undefined) {
    throw new TypeError(`input '${name}': an empty plain array needs a datatype`);
  }
  if (typeof first === 'boolean') return 'BOOL';
  if (typeof first === 'string' || first instanceof Uint8Array) return 'BYTES';
  if (typeof first === 'bigint') return 'INT64';
  return 'FP32';
}

function toNumber(value: unknown, name: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new TypeError(`input '${name}': ${typeof value} where a number belongs`);
}

function toBigInt(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new TypeError(`input '${name}': ${String(value)} is not an integer`);
}

/** Checks and converts an input to its wire form. */
export function toWireTensor(input: TensorInput): WireTensor {
  const { name, data } = input;
  const datatype = input.datatype ?? datatypeOf(data, name);
  if (!(DATATYPES as readonly string[]).includes(datatype)) {
    throw new TypeError(`input '${name}': unknown datatype '${datatype}'`);
  }
  const count = data.length;
  const shape = input.shape ? [...input.shape] : [count];
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`input '${name}': shape [${shape.join(', ')}] is not a list of sizes`);
  }
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== count) {
    throw new TypeError(
      `input '${name}': shape [${shape.join(', ')}] holds ${expected} elements but data has ${count}`,
    );
  }
  let values: WireTensor['values'];
  if (datatype === 'BYTES') {
    values = Array.from(data as ArrayLike<unknown>, (element) => {
      if (typeof element === 'string') return encoder.encode(element);
      if (element instanceof Uint8Array) return element;
      throw new TypeError(`input '${name}': BYTES elements are strings or Uint8Arrays`);
    });
  } else if (datatype === 'FP16' && data instanceof Uint16Array) {
    values = data;
  } else if (datatype === 'FP16') {
    values = Uint16Array.from(data as ArrayLike<unknown>, (v) => toFloat16Bits(toNumber(v, name)));
  } else if (datatype === 'BOOL') {
    values = Uint8Array.from(data as ArrayLike<unknown>, (v) => (toNumber(v, name) !== 0 ? 1 : 0));
  } else {
    const Constructor = CONSTRUCTORS[datatype];
    if (data instanceof Constructor) {
      values = data as NumericArray;
    } else if (datatype === 'INT64' || datatype === 'UINT64') {
      const out = new Constructor(count) as BigInt64Array | BigUint64Array;
      for (let i = 0; i < count; i++) out[i] = toBigInt((data as ArrayLike<unknown>)[i], name);
      values = out;
    } else {
      const out = new Constructor(count) as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
      for (let i = 0; i < count; i++) out[i] = toNumber((data as ArrayLike<unknown>)[i], name);
      values = out;
    }
  }
  return {
    name,
    datatype,
    shape,
    ...(input.parameters && { parameters: input.parameters }),
    values,
  };
}

/** Numbers as JSON: -0 written as such (JSON.stringify writes 0), NaN and ±Infinity as null. */
const jsonNumbers = (values: ArrayLike<number>) =>
  `[${Array.from(values, (v) => (Object.is(v, -0) ? '-0' : JSON.stringify(v))).join(',')}]`;

/** JSON text of one tensor's data (64-bit integers exact, FP16 as values, BYTES as text). */
function jsonData(tensor: WireTensor): string {
  const { datatype, values } = tensor;
  if (datatype === 'BYTES') {
    return JSON.stringify((values as Uint8Array[]).map((bytes) => decoder.decode(bytes)));
  }
  if (datatype === 'BOOL') {
    return `[${Array.from(values as Uint8Array, (v) => (v ? 'true' : 'false')).join(',')}]`;
  }
  if (datatype === 'FP16') {
    return jsonNumbers(Array.from(values as Uint16Array, fromFloat16Bits));
  }
  if (datatype === 'INT64' || datatype === 'UINT64') {
    // Written as text: JSON.stringify cannot write a bigint, and a double would round it.
    return `[${Array.from(values as BigInt64Array, String).join(',')}]`;
  }
  return jsonNumbers(values as Exclude<NumericArray, BigInt64Array | BigUint64Array>);
}

export interface InferRequestOptions {
  id?: string;
  parameters?: TensorParameters;
  /** Outputs to answer (all when absent). */
  outputs?: readonly string[];
  /** Ask for the outputs as binary data (the binary tensor data extension). */
  binaryOutput?: boolean;
}

function requestHeader(
  tensors: WireTensor[],
  options: InferRequestOptions,
  inputData: (tensor: WireTensor, index: number) => Record<string, unknown>,
): string {
  const parameters = {
    ...options.parameters,
    ...(options.binaryOutput !== undefined && { binary_data_output: options.binaryOutput }),
  };
  const marker = `maas-data-${Math.random().toString(36).slice(2)}`;
  const datas: string[] = [];
  const request = {
    ...(options.id !== undefined && { id: options.id }),
    ...(Object.keys(parameters).length > 0 && { parameters }),
    inputs: tensors.map((tensor, index) => {
      const extra = inputData(tensor, index);
      return {
        name: tensor.name,
        datatype: tensor.datatype,
        shape: tensor.shape,
        ...(tensor.parameters || extra.parameters
          ? { parameters: { ...tensor.parameters, ...(extra.parameters as object) } }
          : {}),
        ...(extra.data !== undefined && { data: extra.data }),
      };
    }),
    ...(options.outputs && { outputs: options.outputs.map((name) => ({ name })) }),
  };
  // Data arrays go in as placeholders and are spliced in as written by jsonData().
  return JSON.stringify(request, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && 'maasData' in value) {
      datas.push((value as { maasData: string }).maasData);
      return `${marker}:${datas.length - 1}`;
    }
    return value;
  }).replace(new RegExp(`"${marker}:(\\d+)"`, 'g'), (_, index: string) => datas[Number(index)]!);
}

/** A v2 infer request as JSON text. */
export function encodeJsonInferRequest(
  inputs: readonly TensorInput[],
  options: InferRequestOptions = {},
): string {
  const tensors = inputs.map(toWireTensor);
  return requestHeader(tensors, options, (tensor) => ({ data: { maasData: jsonData(tensor) } }));
}

/** A tensor's little-endian bytes (BYTES: each element after its 4-byte length). */
export function tensorBytes(tensor: WireTensor): Uint8Array {
  if (tensor.datatype === 'BYTES') {
    const elements = tensor.values as Uint8Array[];
    const out = new Uint8Array(elements.reduce((sum, e) => sum + 4 + e.byteLength, 0));
    const view = new DataView(out.buffer);
    let offset = 0;
    for (const element of elements) {
      view.setUint32(offset, element.byteLength, true);
      out.set(element, offset + 4);
      offset += 4 + element.byteLength;
    }
    return out;
  }
  const values = tensor.values as NumericArray;
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_IS_LITTLE_ENDIAN || values.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes);
  for (let i = 0; i < swapped.length; i += values.BYTES_PER_ELEMENT) {
    swapped.subarray(i, i + values.BYTES_PER_ELEMENT).reverse();
  }
  return swapped;
}

/**
 * A v2 infer request in the binary tensor data extension: the JSON header (each input with
 * `binary_data_size`, no `data`), then every input's bytes in order. `headerLength` goes in
 * the `Inference-Header-Content-Length` header.
 */
export function encodeBinaryInferRequest(
  inputs: readonly TensorInput[],
  options: InferRequestOptions = {},
): { body: Uint8Array; headerLength: number } {
  const tensors = inputs.map(toWireTensor);
  const parts = tensors.map(tensorBytes);
  const header = encoder.encode(
    requestHeader(tensors, options, (_tensor, index) => ({
      parameters: { binary_data_size: parts[index]!.byteLength },
    })),
  );
  const body = new Uint8Array(header.byteLength + parts.reduce((s, p) => s + p.byteLength, 0));
  body.set(header, 0);
  let offset = header.byteLength;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return { body, headerLength: header.byteLength };
}

interface V2OutputJson {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: TensorParameters;
  data?: unknown[];
}

export interface V2ResponseJson {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: TensorParameters;
  outputs: V2OutputJson[];
}

function outputFromJson(output: V2OutputJson): TensorOutput {
  const datatype = output.datatype as Datatype;
  const data = ((output.data ?? []) as unknown[]).flat(Infinity);
  const number = (v: unknown) => (v === null ? NaN : Number(v));
  let values: TensorOutput['data'];
  switch (datatype) {
    case 'BYTES':
      values = data.map(String);
      break;
    case 'BOOL':
      values = data.map((v) => v === true || v === 1);
      break;
    case 'FP16':
      values = Float32Array.from(data, number);
      break;
    case 'INT64':
    case 'UINT64': {
      // Exact: literals past 2^53 arrive as text (quoteLongIntegers), the rest as numbers.
      const big = (v: unknown) => BigInt(typeof v === 'number' ? Math.trunc(v) : String(v));
      values =
        datatype === 'INT64' ? BigInt64Array.from(data, big) : BigUint64Array.from(data, big);
      break;
    }
    default: {
      const Constructor = CONSTRUCTORS[datatype as FixedDatatype];
      if (!Constructor) {
        throw new TypeError(`output '${output.name}': unknown datatype ${datatype}`);
      }
      const typed = new Constructor(data.length) as Float32Array;
      for (let i = 0; i < data.length; i++) typed[i] = number(data[i]);
      values = typed;
    }
  }
  return {
    name: output.name,
    datatype,
    shape: output.shape,
    data: values,
    ...(output.parameters && { parameters: output.parameters }),
  } as TensorOutput;
}

function outputFromBytes(output: V2OutputJson, bytes: Uint8Array): TensorOutput {
  const datatype = output.datatype as Datatype;
  let values: TensorOutput['data'];
  if (datatype === 'BYTES') {
    const strings: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let offset = 0; offset < bytes.byteLength;) {
      const length = view.getUint32(offset, true);
      strings.push(decoder.decode(bytes.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    values = strings;
  } else if (datatype === 'BOOL') {
    values = Array.from(bytes, (b) => b !== 0);
  } else {
    const Constructor = CONSTRUCTORS[datatype as FixedDatatype | 'FP16'];
    if (!Constructor) throw new TypeError(`output '${output.name}': unknown datatype ${datatype}`);
    // A copy of its own: the answer's bytes need not be aligned for the element size (and a
    // Node Buffer's slice() would be a view, not a copy).
    const copy = new Uint8Array(bytes);
    if (!HOST_IS_LITTLE_ENDIAN) {
      for (let i = 0; i < copy.length; i += Constructor.BYTES_PER_ELEMENT) {
        copy.subarray(i, i + Constructor.BYTES_PER_ELEMENT).reverse();
      }
    }
    const typed = new Constructor(copy.buffer);
    values =
      datatype === 'FP16'
        ? Float32Array.from(typed as Uint16Array, fromFloat16Bits)
        : (typed as Float32Array);
  }
  const { binary_data_size: _size, ...parameters } = output.parameters ?? {};
  return {
    name: output.name,
    datatype,
    shape: output.shape,
    data: values,
    ...(Object.keys(parameters).length > 0 && { parameters }),
  } as TensorOutput;
}

export interface DecodedInferResponse {
  modelName: string;
  modelVersion?: string;
  id?: string;
  parameters?: TensorParameters;
  outputs: TensorOutput[];
}

/**
 * Integer literals too long for a double (16 digits or more) quoted, outside strings, so that
 * JSON.parse hands INT64/UINT64 data over as text and `BigInt` reads it exactly.
 */
export function quoteLongIntegers(json: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < json.length && json.charCodeAt(i) !== 34; i++) {
        if (json.charCodeAt(i) === 92 /* \ */) i++;
      }
      continue;
    }
    if (c !== 45 /* - */ && (c < 48 || c > 57)) continue;
    let end = i + 1;
    while (end < json.length && /[0-9eE.+-]/.test(json[end]!)) end++;
    const literal = json.slice(i, end);
    if (/^-?\d{16,}$/.test(literal)) {
      out += `${json.slice(from, i)}"${literal}"`;
      from = end;
    }
    i = end - 1;
  }
  return out + json.slice(from);
}

/**
 * Reads a v2 infer answer: JSON, or (with `headerLength`, from the answer's
 * `Inference-Header-Content-Length`) a JSON header followed by the binary outputs in order.
 */
export function decodeInferResponse(body: Uint8Array, headerLength?: number): DecodedInferResponse {
  const headerBytes = headerLength === undefined ? body : body.subarray(0, headerLength);
  const header = JSON.parse(quoteLongIntegers(decoder.decode(headerBytes))) as V2ResponseJson;
  let offset = headerLength ?? body.byteLength;
  const outputs = header.outputs.map((output) => {
    const size = output.parameters?.binary_data_size;
    if (typeof size !== 'number') return outputFromJson(output);
    if (offset + size > body.byteLength) {
      throw new TypeError(`output '${output.name}': binary data ends before its ${size} bytes`);
    }
    const tensor = outputFromBytes(output, body.subarray(offset, offset + size));
    offset += size;
    return tensor;
  });
  return {
    modelName: header.model_name,
    ...(header.model_version !== undefined && { modelVersion: header.model_version }),
    ...(header.id !== undefined && { id: header.id }),
    ...(header.parameters && { parameters: header.parameters }),
    outputs,
  };
}

/** Plain JSON-able values of an output's data (bigints as numbers when exact, else strings). */
export function plainValues(output: TensorOutput): (number | string | boolean)[] {
  return Array.from(output.data as ArrayLike<number | bigint | string | boolean>, (v) =>
    typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
  );
}
