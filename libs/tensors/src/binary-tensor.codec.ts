import { endianness } from 'node:os';
import {
  type Datatype,
  elementByteSize,
  isFixedSizeDatatype,
  typedArrayConstructor,
} from './datatype.js';
import { PackedBytes } from './packed-bytes.js';
import { type Tensor, type TensorData, elementCount, formatShape } from './tensor.js';
import { TensorError } from './tensor.error.js';

// Wire format is little-endian; on such hosts typed arrays can alias the body directly.
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

function swapBytes(buffer: Buffer, byteSize: number): void {
  if (byteSize === 2) buffer.swap16();
  else if (byteSize === 4) buffer.swap32();
  else if (byteSize === 8) buffer.swap64();
}

/**
 * Turns the raw bytes of one tensor (Triton binary data extension) into tensor data.
 * Fixed-size types become a typed array that aliases `bytes` when it is aligned and
 * the host is little-endian (no copy), else an aligned copy. BYTES become Buffer views,
 * one per element, each read after its 4-byte little-endian length.
 */
export function decodeBinaryTensorData(
  datatype: Datatype,
  shape: readonly number[],
  bytes: Buffer,
  where: string,
): TensorData {
  const count = elementCount(shape);
  if (!isFixedSizeDatatype(datatype)) return decodeBinaryBytes(count, shape, bytes, where);
  const byteSize = elementByteSize(datatype) as number;
  const expectedBytes = count * byteSize;
  if (bytes.length !== expectedBytes) {
    throw new TensorError(
      `${where}: binary_data_size is ${bytes.length} bytes but shape ${formatShape(shape)} of ${datatype} needs ${expectedBytes}`,
    );
  }
  const Constructor = typedArrayConstructor(datatype);
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % byteSize === 0) {
    return new Constructor(bytes.buffer, bytes.byteOffset, count);
  }
  const copy = new Constructor(count);
  const copyBytes = Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
  bytes.copy(copyBytes);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(copyBytes, byteSize);
  return copy;
}

function decodeBinaryBytes(
  count: number,
  shape: readonly number[],
  bytes: Buffer,
  where: string,
): Buffer[] {
  // Each element has a 4-byte length: a shape the bytes cannot carry is refused before allocating.
  if (count * 4 > bytes.length) {
    throw new TensorError(
      `${where}: shape ${formatShape(shape)} holds ${count} BYTES elements but ${bytes.length} bytes of binary data carry at most ${Math.floor(bytes.length / 4)}`,
    );
  }
  const elements: Buffer[] = new Array<Buffer>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.length) {
      throw new TensorError(
        `${where}: BYTES binary data ends after ${i} of ${count} elements for shape ${formatShape(shape)}`,
      );
    }
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (offset + length > bytes.length) {
      throw new TensorError(
        `${where}: BYTES element ${i} declares ${length} bytes but only ${bytes.length - offset} remain`,
      );
    }
    elements[i] = bytes.subarray(offset, offset + length);
    offset += length;
  }
  if (offset !== bytes.length) {
    throw new TensorError(
      `${where}: BYTES binary data has ${bytes.length - offset} bytes left over after ${count} elements for shape ${formatShape(shape)}`,
    );
  }
  return elements;
}

/**
 * The raw little-endian bytes of a tensor. For typed arrays on little-endian hosts this is
 * a view of the tensor's memory, not a copy.
 */
export function encodeBinaryTensorData(tensor: Tensor): Buffer {
  const data = tensor.data;
  if (Array.isArray(data)) return encodeBinaryBytes(data);
  if (data instanceof PackedBytes) return encodeBinaryPacked(data);
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return view;
  const copy = Buffer.from(view);
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

/** Packed elements as the binary extension carries them: each its 4-byte length, then its bytes. */
function encodeBinaryPacked(packed: PackedBytes): Buffer {
  const out = Buffer.allocUnsafe(4 * packed.length + packed.bytes.byteLength);
  const bytes = packed.bytes;
  let start = 0;
  let at = 0;
  for (let i = 0; i < packed.length; i++) {
    const end = packed.ends[i]!;
    out.writeUInt32LE(end - start, at);
    out.set(bytes.subarray(start, end), at + 4);
    at += 4 + end - start;
    start = end;
  }
  return out;
}

function encodeBinaryBytes(elements: readonly (string | Buffer)[]): Buffer {
  const buffers = elements.map((element) =>
    typeof element === 'string' ? Buffer.from(element, 'utf8') : element,
  );
  let total = 4 * buffers.length;
  for (const buffer of buffers) total += buffer.length;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const buffer of buffers) {
    out.writeUInt32LE(buffer.length, offset);
    offset += 4;
    offset += buffer.copy(out, offset);
  }
  return out;
}
