import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DATATYPES } from './datatype.js';
import { fromOrtOutput, toOrtFeeds } from './ort-tensor.mapper.js';
import { TensorError } from './tensor.error.js';
import { sampleTensor } from './tensor.fixtures.js';

describe('onnxruntime-node conversion', () => {
  const supported = DATATYPES.filter((datatype) => datatype !== 'BF16');

  it('round-trips every ORT-supported datatype through real ort.Tensor objects', () => {
    const inputs = supported.map((datatype) => sampleTensor(datatype));
    const feeds = toOrtFeeds(inputs);
    for (const input of inputs) {
      const feed = feeds[input.name];
      const ortTensor = new ort.Tensor(feed!.type, feed!.data as string[], feed!.dims);
      expect(ortTensor.dims).toEqual([2, 2]);
      const back = fromOrtOutput(input.name, ortTensor.type, ortTensor.data, ortTensor.dims);
      expect(back, input.datatype).toEqual(input);
    }
  });

  it('passes typed arrays through without copying and turns raw BYTES into strings', () => {
    const data = Float32Array.of(1, 2);
    const feeds = toOrtFeeds([
      { name: 'x', datatype: 'FP32', shape: [2], data },
      { name: 's', datatype: 'BYTES', shape: [1], data: [Buffer.from('héllo')] },
    ]);
    expect(feeds.x?.data).toBe(data);
    expect(feeds.s).toEqual({ type: 'string', data: ['héllo'], dims: [1] });
  });

  it('rejects what ORT cannot take or give', () => {
    expect(() => toOrtFeeds([sampleTensor('BF16', 'b')])).toThrow(
      new TensorError("input 'b': datatype BF16 is not supported by onnxruntime", 'UNIMPLEMENTED'),
    );
    expect(() => fromOrtOutput('y', 'uint4', new Uint8Array(1), [1])).toThrow(
      "output 'y': onnxruntime type 'uint4' has no v2 datatype",
    );
    expect(() => fromOrtOutput('y', 'float32', new Float64Array(1), [1])).toThrow(
      "output 'y': Float64Array data does not fit onnxruntime type 'float32'",
    );
    expect(() => fromOrtOutput('y', 'float32', new Float32Array(3), [2])).toThrow(
      "output 'y': expected 2 elements for shape [2], got 3",
    );
  });
});
