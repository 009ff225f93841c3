import {
  type Datatype,
  type NumericTypedArray,
  type TypedArrayByDatatype,
  isFixedSizeDatatype,
  typedArrayConstructor,
} from './datatype.js';
import { PackedBytes } from './packed-bytes.js';
import { TensorError, type TensorErrorCode } from './tensor.error.js';

/**
 * BYTES elements: strings (from JSON, for ORT string tensors) or raw bytes (binary data), one
 * entry per element; or packed (PackedBytes: large tensors decoded on the worker's codec thread,
 * and string outputs from its model threads).
 */
export type BytesData = string[] | Buffer[] | PackedBytes;

/** Numeric data is always a typed array; BYTES is one entry per element. */
export type TensorData = NumericTypedArray | BytesData;

/** Free-form `parameters` objects of the v2 protocol. */
export type TensorParameters = Record<string, unknown>;

export interface Tensor {
  name: string;
  datatype: Datatype;
  /** Row-major dims; [] is a scalar with one element. */
  shape: number[];
  data: TensorData;
  parameters?: TensorParameters;
}

/** A model input or output as a signature declares it; -1 marks a free dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

/** Product of the dims (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** `[3,4]`, the form error messages use. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Same rank, and every fixed (non -1) signature dim equal. */
export function isShapeCompatible(
  shape: readonly number[],
  signatureShape: readonly number[],
): boolean {
  if (shape.length !== signatureShape.length) return false;
  for (let i = 0; i < shape.length; i++) {
    const expected = signatureShape[i];
    if (expected !== -1 && expected !== shape[i]) return false;
  }
  return true;
}

export function isBytesData(data: TensorData): data is BytesData {
  return Array.isArray(data) || data instanceof PackedBytes;
}

/** BYTES elements one per entry: PackedBytes unpacked (as Buffers), arrays as they are. */
export function bytesElements(data: BytesData): string[] | Buffer[] {
  return data instanceof PackedBytes ? data.toBuffers() : data;
}

/**
 * Makes BYTES data what it was before a structured clone (a message between threads): a clone
 * turns every Buffer into a plain Uint8Array over the same bytes, and a PackedBytes into a plain
 * object holding its two buffers. Strings stay strings. In place; returns `tensors`.
 */
export function asBufferElements<T extends { data: unknown }>(tensors: T[]): T[] {
  for (const tensor of tensors) {
    if (!Array.isArray(tensor.data)) {
      tensor.data = PackedBytes.revive(tensor.data) as T['data'];
      continue;
    }
    const data = tensor.data as unknown[];
    for (let i = 0; i < data.length; i++) {
      const element = data[i];
      if (element instanceof Uint8Array && !Buffer.isBuffer(element)) {
        data[i] = Buffer.from(element.buffer, element.byteOffset, element.byteLength);
      }
    }
  }
  return tensors;
}

/**
 * Packs the BYTES tensors of `tensors` (PackedBytes) whose elements are past `minElements`, for
 * a message to another thread: in place; returns `tensors`.
 */
export function packBytesTensors<T extends Tensor>(tensors: T[], minElements = 0): T[] {
  for (const tensor of tensors) {
    if (Array.isArray(tensor.data) && tensor.data.length >= minElements) {
      tensor.data = PackedBytes.of(tensor.data as (string | Buffer)[]);
    }
  }
  return tensors;
}

/** Whether `data` is the representation this lib uses for `datatype`. */
export function isDataOfDatatype(datatype: Datatype, data: TensorData): boolean {
  if (!isFixedSizeDatatype(datatype)) {
    if (data instanceof PackedBytes) return true;
    if (!Array.isArray(data)) return false;
    // Checking the first element keeps this O(1); mixed arrays are the producer's bug.
    return data.length === 0 || typeof data[0] === 'string' || Buffer.isBuffer(data[0]);
  }
  return data instanceof typedArrayConstructor(datatype);
}

/**
 * Checks that a tensor built by code (model outputs, batching) is self-consistent:
 * the data type fits the datatype and the element count fits the shape.
 */
export function assertValidTensor(
  tensor: Tensor,
  label = 'tensor',
  code: TensorErrorCode = 'INTERNAL',
): void {
  const where = `${label} '${tensor.name}'`;
  if (!tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw new TensorError(`${where}: invalid shape ${formatShape(tensor.shape)}`, code);
  }
  if (!isDataOfDatatype(tensor.datatype, tensor.data)) {
    throw new TensorError(
      `${where}: data of type ${describeData(tensor.data)} does not hold datatype ${tensor.datatype}`,
      code,
    );
  }
  const expected = elementCount(tensor.shape);
  if (tensor.data.length !== expected) {
    throw new TensorError(
      `${where}: expected ${expected} elements for shape ${formatShape(tensor.shape)}, got ${tensor.data.length}`,
      code,
    );
  }
}

export function describeData(data: unknown): string {
  if (Array.isArray(data)) return 'Array';
  if (data instanceof PackedBytes) return 'PackedBytes';
  if (ArrayBuffer.isView(data)) return data.constructor.name;
  return typeof data;
}

/** A zero-filled typed array for a fixed-size datatype. */
export function allocateTypedArray<D extends Exclude<Datatype, 'BYTES'>>(
  datatype: D,
  length: number,
): TypedArrayByDatatype[D] {
  const Constructor = typedArrayConstructor(datatype);
  return new Constructor(length);
}
