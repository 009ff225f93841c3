import { isFixedSizeDatatype, typedArrayConstructor } from './datatype.js';
import { type NumericTypedArray } from './datatype.js';
import { PackedBytes } from './packed-bytes.js';
import { type BytesData, type Tensor, bytesElements, elementCount, formatShape } from './tensor.js';
import { TensorError } from './tensor.error.js';

/**
 * Joins tensors along dim 0 (dynamic batching). All must share datatype, rank and the dims
 * after the first; the result takes the first tensor's name. One tensor is returned as is.
 */
export function concatTensors(tensors: readonly Tensor[]): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new TensorError('cannot concatenate an empty list of tensors');
  const where = `tensor '${first.name}'`;
  if (first.shape.length === 0)
    throw new TensorError(`${where}: cannot concatenate scalars along dim 0`);
  if (tensors.length === 1) return first;
  const innerShape = first.shape.slice(1);
  let rows = 0;
  for (const tensor of tensors) {
    if (tensor.datatype !== first.datatype) {
      throw new TensorError(
        `${where}: cannot concatenate datatype ${first.datatype} with ${tensor.datatype}`,
      );
    }
    const sameInner =
      tensor.shape.length === first.shape.length &&
      innerShape.every((dim, i) => tensor.shape[i + 1] === dim);
    if (!sameInner) {
      throw new TensorError(
        `${where}: cannot concatenate shape ${formatShape(first.shape)} with ${formatShape(tensor.shape)} along dim 0`,
      );
    }
    rows += tensor.shape[0] as number;
  }
  const shape = [rows, ...innerShape];
  const datatype = first.datatype;
  if (!isFixedSizeDatatype(datatype)) {
    // (Packed elements join as the Buffers they are.)
    const elements = tensors.map((tensor) => bytesElements(tensor.data as BytesData));
    const allStrings = elements.every((data) => data.length === 0 || typeof data[0] === 'string');
    const allBuffers = elements.every((data) => data.length === 0 || Buffer.isBuffer(data[0]));
    const joined: (string | Buffer)[] = [];
    for (const data of elements) {
      for (const element of data) {
        // Mixed string/Buffer batches become Buffers so that no byte is lost.
        joined.push(
          allStrings || allBuffers || Buffer.isBuffer(element)
            ? element
            : Buffer.from(element as string),
        );
      }
    }
    return { name: first.name, datatype, shape, data: joined as string[] | Buffer[] };
  }
  const Constructor = typedArrayConstructor(datatype);
  const out = new Constructor(elementCount(shape)) as NumericTypedArray;
  let offset = 0;
  for (const tensor of tensors) {
    // Same datatype means same typed array kind, so `set` is a plain memory copy.
    (out as Uint8Array).set(tensor.data as Uint8Array, offset);
    offset += tensor.data.length;
  }
  return { name: first.name, datatype, shape, data: out };
}

/**
 * Splits a tensor along dim 0 into consecutive pieces of `rowCounts` rows (they must add up to
 * dim 0). Numeric pieces are views of the original data, not copies.
 */
export function splitTensor(tensor: Tensor, rowCounts: readonly number[]): Tensor[] {
  const where = `tensor '${tensor.name}'`;
  if (tensor.shape.length === 0)
    throw new TensorError(`${where}: cannot split a scalar along dim 0`);
  const rows = tensor.shape[0] as number;
  let total = 0;
  for (const count of rowCounts) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new TensorError(`${where}: row counts must be non-negative integers, got ${count}`);
    }
    total += count;
  }
  if (total !== rows) {
    throw new TensorError(
      `${where}: row counts add up to ${total} but dim 0 of ${formatShape(tensor.shape)} is ${rows}`,
    );
  }
  const innerShape = tensor.shape.slice(1);
  const rowSize = elementCount(innerShape);
  const pieces: Tensor[] = [];
  let start = 0;
  for (const count of rowCounts) {
    const end = start + count * rowSize;
    const data =
      tensor.data instanceof PackedBytes
        ? tensor.data.slice(start, end)
        : Array.isArray(tensor.data)
          ? (tensor.data.slice(start, end) as string[] | Buffer[])
          : (tensor.data as Uint8Array).subarray(start, end);
    pieces.push({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: [count, ...innerShape],
      data,
    });
    start = end;
  }
  return pieces;
}
