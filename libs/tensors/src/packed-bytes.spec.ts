import { describe, expect, it } from 'vitest';
import { encodeBinaryTensorData } from './binary-tensor.codec.js';
import { encodeInferResponse } from './infer-response.encoder.js';
import { PackedBytes } from './packed-bytes.js';
import { encodePredictResponse } from './predict.codec.js';
import { concatTensors, splitTensor } from './tensor-batching.js';
import { type Tensor, asBufferElements, assertValidTensor, packBytesTensors } from './tensor.js';

const ELEMENTS = ['', 'a', 'héllo', '日本語', 'x'.repeat(300), ''];

const tensor = (data: Tensor['data'], name = 'text_bytes'): Tensor => ({
  name,
  datatype: 'BYTES',
  shape: [2, 3],
  data,
});

describe('PackedBytes', () => {
  it('holds the elements it packs, as bytes and as UTF-8 text', () => {
    const packed = PackedBytes.of(ELEMENTS);
    expect(packed.length).toBe(ELEMENTS.length);
    expect(packed.toStrings()).toEqual(ELEMENTS);
    expect(packed.toBuffers().map(String)).toEqual(ELEMENTS);
    expect(String(packed.at(3))).toBe('日本語');
    // Buffers pack as their bytes, strings as UTF-8: the same packing.
    const fromBuffers = PackedBytes.of(ELEMENTS.map((text) => Buffer.from(text)));
    expect(Buffer.from(fromBuffers.bytes)).toEqual(Buffer.from(packed.bytes));
    expect(fromBuffers.ends).toEqual(packed.ends);
  });

  it('slices, and survives a message between threads as two buffers', () => {
    const packed = PackedBytes.of(ELEMENTS);
    expect(packed.slice(2, 5).toStrings()).toEqual(ELEMENTS.slice(2, 5));
    expect(packed.slice(0, 0).length).toBe(0);
    const cloned = structuredClone(packed, { transfer: packed.transferables() });
    expect(cloned).not.toBeInstanceOf(PackedBytes);
    const [revived] = asBufferElements([{ data: cloned as unknown }]);
    expect(revived!.data).toBeInstanceOf(PackedBytes);
    expect((revived!.data as PackedBytes).toStrings()).toEqual(ELEMENTS);
    // The originals were handed over, not copied.
    expect(packed.bytes.byteLength).toBe(0);
    // A slice's buffers are the whole's: never handed over.
    expect(PackedBytes.of(ELEMENTS).slice(1, 3).transferables()).toHaveLength(1);
  });

  it('is written by every encoder exactly as the same elements one per entry', () => {
    const arrays = tensor([...ELEMENTS]);
    const packed = packBytesTensors([tensor([...ELEMENTS])])[0]!;
    expect(packed.data).toBeInstanceOf(PackedBytes);
    assertValidTensor(packed);
    expect(encodeBinaryTensorData(packed)).toEqual(encodeBinaryTensorData(arrays));
    for (const binaryOutputs of [new Set<string>(), new Set(['text_bytes'])]) {
      const response = (outputs: Tensor[]) =>
        encodeInferResponse({ modelName: 'm', outputs }, { binaryOutputs });
      expect(response([packed]).body).toEqual(response([arrays]).body);
    }
    for (const format of ['row', 'columnar'] as const) {
      expect(encodePredictResponse([packed], format).body).toEqual(
        encodePredictResponse([arrays], format).body,
      );
    }
  });

  it('batches with other requests and splits back into its own rows', () => {
    const packed = tensor(PackedBytes.of(ELEMENTS));
    const other = tensor(['p', 'q', 'r'], 'text_bytes');
    other.shape = [1, 3];
    const joined = concatTensors([packed, other]);
    expect(joined.shape).toEqual([3, 3]);
    expect((joined.data as Buffer[]).map(String)).toEqual([...ELEMENTS, 'p', 'q', 'r']);
    const [first, second] = splitTensor(tensor(PackedBytes.of(ELEMENTS)), [1, 1]);
    expect((first!.data as PackedBytes).toStrings()).toEqual(ELEMENTS.slice(0, 3));
    expect((second!.data as PackedBytes).toStrings()).toEqual(ELEMENTS.slice(3));
  });
});
