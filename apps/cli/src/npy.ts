import { type Datatype, type TensorInputData, typedArrayFor } from '@maas/sdk';

/** A NumPy array read from an .npy file. */
export interface NpyArray {
  datatype: Datatype;
  shape: number[];
  data: TensorInputData;
}

const MAGIC = '\x93NUMPY';

/** NumPy `descr` kind+size → datatype (BOOL is one byte per element). */
const DTYPES: Record<string, { datatype: Datatype; size: number }> = {
  b1: { datatype: 'BOOL', size: 1 },
  u1: { datatype: 'UINT8', size: 1 },
  u2: { datatype: 'UINT16', size: 2 },
  u4: { datatype: 'UINT32', size: 4 },
  u8: { datatype: 'UINT64', size: 8 },
  i1: { datatype: 'INT8', size: 1 },
  i2: { datatype: 'INT16', size: 2 },
  i4: { datatype: 'INT32', size: 4 },
  i8: { datatype: 'INT64', size: 8 },
  f2: { datatype: 'FP16', size: 2 },
  f4: { datatype: 'FP32', size: 4 },
  f8: { datatype: 'FP64', size: 8 },
};

/**
 * Reads an .npy file (format 1.0, 2.0 or 3.0): C-order arrays of booleans, integers and
 * floats, either byte order. FP16 comes back as its raw bits (a Uint16Array), as the SDK
 * takes it with `datatype: 'FP16'`.
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) {
    throw new Error('not an .npy file (no \\x93NUMPY magic)');
  }
  const major = bytes[6]!;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLength),
  );
  const descr = /'descr'\s*:\s*'([<>|=]?)([a-z]\d+)'/.exec(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shapeText) throw new Error(`unreadable .npy header: ${header.trim()}`);
  if (/'fortran_order'\s*:\s*True/.test(header)) {
    throw new Error(
      'Fortran-ordered .npy arrays are not supported: save with np.ascontiguousarray',
    );
  }
  const dtype = DTYPES[descr[2]!];
  if (!dtype) throw new Error(`unsupported .npy dtype '${descr[1]}${descr[2]}'`);
  const shape = shapeText[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const byteLength = count * dtype.size;
  if (start + byteLength > bytes.byteLength) {
    throw new Error(`the .npy data is shorter than shape (${shape.join(', ')}) needs`);
  }
  // A copy of its own, aligned for the element size, in this host's (little-endian) order.
  const raw = new Uint8Array(bytes.subarray(start, start + byteLength));
  if (descr[1] === '>' && dtype.size > 1) {
    for (let i = 0; i < raw.length; i += dtype.size) raw.subarray(i, i + dtype.size).reverse();
  }
  if (dtype.datatype === 'BOOL') {
    return { datatype: 'BOOL', shape, data: Array.from(raw, (b) => b !== 0) };
  }
  const Constructor = typedArrayFor(dtype.datatype as Exclude<Datatype, 'BYTES' | 'BOOL'>);
  return { datatype: dtype.datatype, shape, data: new Constructor(raw.buffer) };
}
