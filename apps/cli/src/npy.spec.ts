import { describe, expect, it } from 'vitest';
import { readNpy } from './npy.js';

/** An .npy file as NumPy's np.save writes it (format 1.0, header padded to 64 bytes). */
function npy(descr: string, shape: number[], data: Uint8Array, major = 1): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const prefix = major === 1 ? 10 : 12;
  header += ' '.repeat(64 - ((prefix + header.length + 1) % 64)) + '\n';
  const out = new Uint8Array(prefix + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(data, prefix + header.length);
  return out;
}

const bytesOf = (array: ArrayBufferView) =>
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

describe('readNpy', () => {
  it('reads float32, float64, int64 and bool arrays with their shapes', () => {
    const f4 = readNpy(npy('<f4', [2, 2], bytesOf(new Float32Array([1, 2, 3, 4.5]))));
    expect(f4).toEqual({ datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4.5]) });
    const f8 = readNpy(npy('<f8', [3], bytesOf(new Float64Array([0.1, 0.2, 0.3])), 2));
    expect(f8.data).toEqual(new Float64Array([0.1, 0.2, 0.3]));
    const i8 = readNpy(npy('<i8', [2], bytesOf(new BigInt64Array([-1n, 2n ** 62n]))));
    expect(i8).toMatchObject({ datatype: 'INT64', data: new BigInt64Array([-1n, 2n ** 62n]) });
    const b1 = readNpy(npy('|b1', [3], new Uint8Array([1, 0, 1])));
    expect(b1).toEqual({ datatype: 'BOOL', shape: [3], data: [true, false, true] });
  });

  it('swaps big-endian data and reads a scalar as shape []', () => {
    const big = new Uint8Array([0x3f, 0x80, 0, 0]); // 1.0f, big-endian
    expect(readNpy(npy('>f4', [1], big)).data).toEqual(new Float32Array([1]));
    const scalar = readNpy(npy('<i4', [], bytesOf(new Int32Array([7])))).shape;
    expect(scalar).toEqual([]);
  });

  it('refuses what it cannot read', () => {
    expect(() => readNpy(new Uint8Array(20))).toThrow(/not an .npy file/);
    expect(() => readNpy(npy('<c8', [1], new Uint8Array(8)))).toThrow(
      /unsupported .npy dtype '<c8'/,
    );
    expect(() => readNpy(npy('<f4', [4], new Uint8Array(8)))).toThrow(/shorter than shape/);
    const fortran = npy('<f4', [1], new Uint8Array(4));
    fortran.set(
      new TextEncoder().encode('True '),
      10 + "{'descr': '<f4', 'fortran_order': ".length,
    );
    expect(() => readNpy(fortran)).toThrow(/Fortran-ordered/);
  });
});
