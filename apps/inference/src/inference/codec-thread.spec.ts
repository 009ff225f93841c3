import {
  decodeInferRequest,
  decodePredictRequest,
  encodeInferResponse,
  encodePredictResponse,
  PackedBytes,
  type Tensor,
  TensorError,
} from '@maas/tensors';
import { loopTurnsDuring } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { CodecThread, decodesOffLoop, encodesOffLoop } from './codec-thread.js';

// The thread runs the built @maas/tensors: `node tools/build.mjs` first, as the test command does.

const codec = new CodecThread();

function largeInferBody(rows: number): Buffer {
  const data = Array.from({ length: rows * 4 }, (_, i) => (i % 997) / 8);
  return Buffer.from(
    JSON.stringify({
      id: 'r1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 4], data }],
      outputs: [{ name: 'output', parameters: { binary_data: true } }],
    }),
  );
}

describe('CodecThread', () => {
  it('decodes a large request exactly as the event loop does, and the loop turns meanwhile', async () => {
    const body = largeInferBody(200_000);
    const options = { maxElements: 16 * 1024 * 1024 };
    const expected = decodeInferRequest(body, options);
    // A view into a larger buffer, as a body in a link frame is: the thread gets a copy.
    const framed = Buffer.concat([Buffer.from('frame head'), body]).subarray(10);
    const { result, turns } = await loopTurnsDuring(() => codec.decodeInfer(framed, options));
    const { data, ...rest } = result.inputs[0]!;
    const { data: expectedData, ...expectedRest } = expected.inputs[0]!;
    expect(rest).toEqual(expectedRest);
    expect(data).toBeInstanceOf(Float32Array);
    expect(
      Buffer.from((data as Float32Array).buffer).equals(
        Buffer.from((expectedData as Float32Array).buffer),
      ),
    ).toBe(true);
    expect({ ...result, inputs: [] }).toEqual({ ...expected, inputs: [] });
    expect(result.binaryOutputs).toEqual(expected.binaryOutputs);
    // ~7 MiB of JSON takes the thread a few hundred ms; decoded on the loop, that was one turn.
    expect(turns).toBeGreaterThan(50);
    // The frame is its reader's still (the thread got a copy).
    expect(framed.subarray(0, 8).toString()).toBe('{"id":"r');
    expect(Buffer.compare(framed, body)).toBe(0);
  });

  it('hands a body that is a buffer of its own to the thread as it is, without a copy', async () => {
    const body = largeInferBody(50_000);
    const options = { maxElements: 16 * 1024 * 1024 };
    const expected = decodeInferRequest(body, options);
    // As `readBody` reads one over HTTP: one buffer of the body's length.
    const own = Buffer.allocUnsafeSlow(body.length);
    body.copy(own);
    const result = await codec.decodeInfer(own, options);
    expect(result.inputs[0]!.shape).toEqual(expected.inputs[0]!.shape);
    expect(Array.from(result.inputs[0]!.data as Float32Array)).toEqual(
      Array.from(expected.inputs[0]!.data as Float32Array),
    );
    // Transferred: its memory is the thread's now (it was never copied on this loop).
    expect(own.buffer.byteLength).toBe(0);
    expect(own.length).toBe(0);
  });

  it('encodes a large answer exactly as the event loop does', async () => {
    const outputs: Tensor[] = [
      {
        name: 'output',
        datatype: 'FP32',
        shape: [200_000, 3],
        // A request's rows of a batch's output: a view into a larger buffer.
        data: Float32Array.from({ length: 600_003 }, (_, i) => (i - 3) / 7).subarray(3),
      },
      {
        name: 'label',
        datatype: 'BYTES',
        shape: [2],
        data: [Buffer.from('cat'), Buffer.from('dog')],
      },
    ];
    const response = { modelName: 'm', modelVersion: '2', id: 'r1', outputs };
    for (const binaryOutputs of ['none', new Set(['output'])] as const) {
      const encoded = await codec.encodeInfer(response, { binaryOutputs });
      const expected = encodeInferResponse(response, { binaryOutputs });
      expect(Buffer.isBuffer(encoded.body)).toBe(true);
      expect(encoded.body.equals(expected.body)).toBe(true);
      expect([encoded.contentType, encoded.headerLength]).toEqual([
        expected.contentType,
        expected.headerLength,
      ]);
    }
    // The caller's outputs are untouched (they went to the thread as a copy).
    expect((outputs[0]!.data as Float32Array)[7]).toBe(1);
  });

  it('hands an output that is a buffer of its own to the thread as it is, without a copy', async () => {
    const data = Float32Array.from({ length: 300_000 }, (_, i) => i / 3);
    const outputs: Tensor[] = [{ name: 'output', datatype: 'FP32', shape: [100_000, 3], data }];
    const response = { modelName: 'm', modelVersion: '1', outputs };
    const expected = encodeInferResponse(response, { binaryOutputs: 'none' });
    const encoded = await codec.encodeInfer(response, { binaryOutputs: 'none' });
    expect(encoded.body.equals(expected.body)).toBe(true);
    // Transferred: never copied on this loop.
    expect(data.buffer.byteLength).toBe(0);
  });

  it('reads and writes TF Serving bodies as the event loop does, BYTES as Buffers', async () => {
    const signature = [
      { name: 'x', datatype: 'FP32' as const, shape: [-1, 2] },
      { name: 'text', datatype: 'BYTES' as const, shape: [-1] },
    ];
    const body = Buffer.from(
      JSON.stringify({
        instances: [
          { x: [1, 2], text: 'a' },
          { x: [3, 4], text: { b64: Buffer.from('é').toString('base64') } },
        ],
      }),
    );
    const decoded = await codec.decodePredict(body, signature, { maxElements: 100 });
    expect(decoded).toEqual(decodePredictRequest(body, signature, { maxElements: 100 }));
    const text = decoded.inputs.find((input) => input.name === 'text')!;
    for (const element of text.data as unknown[]) {
      expect(typeof element === 'string' || Buffer.isBuffer(element)).toBe(true);
    }
    const outputs: Tensor[] = [
      { name: 'y', datatype: 'FP32', shape: [2, 1], data: Float32Array.of(0.5, 1.5) },
    ];
    const expected = encodePredictResponse(outputs, decoded.format);
    const encoded = await codec.encodePredict(outputs, decoded.format);
    expect(encoded.body.equals(expected.body)).toBe(true);
  });

  it("gives the codec's own errors (TensorError, code and message) and keeps serving", async () => {
    const wrong = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3] }],
      }),
    );
    const error = await codec.decodeInfer(wrong, {}).catch((e: unknown) => e);
    const expected = (() => {
      try {
        decodeInferRequest(wrong, {});
      } catch (e) {
        return e as TensorError;
      }
    })()!;
    expect(error).toBeInstanceOf(TensorError);
    expect(error).toMatchObject({ code: expected.code, message: expected.message });
    const fine = await codec.decodeInfer(largeInferBody(2), {});
    expect(fine.inputs[0]!.shape).toEqual([2, 4]);
  });

  it('decodes binary BYTES tensors as the event loop does, packed (two buffers, not 50,000 objects)', async () => {
    const count = 50_000;
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'text',
            datatype: 'BYTES',
            shape: [count],
            parameters: { binary_data_size: count * 7 },
          },
        ],
      }),
    );
    const data = Buffer.alloc(count * 7);
    for (let i = 0; i < count; i++) {
      data.writeUInt32LE(3, i * 7);
      data.write(String(i % 1000).padStart(3, '0'), i * 7 + 4);
    }
    const body = Buffer.concat([header, data]);
    const options = { headerLength: header.length };
    // (Read out first: the elements are views into `body`, which the thread is then handed.)
    const expected = (decodeInferRequest(body, options).inputs[0]!.data as Buffer[]).map(String);
    const decoded = await codec.decodeInfer(body, options);
    const packed = decoded.inputs[0]!.data;
    expect(packed).toBeInstanceOf(PackedBytes);
    expect((packed as PackedBytes).length).toBe(count);
    expect((packed as PackedBytes).toStrings()).toEqual(expected);
  });
});

describe('what goes to the codec thread', () => {
  const MIN = 256 * 1024;
  const fp32 = [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }];
  const text = [{ name: 't', datatype: 'BYTES' as const, shape: [-1] }];

  it('decodes large JSON there, and large bodies that may hold BYTES tensors', () => {
    // JSON: its size decides.
    expect(decodesOffLoop(MIN, undefined, fp32, MIN)).toBe(true);
    expect(decodesOffLoop(MIN - 1, undefined, fp32, MIN)).toBe(false);
    // Binary fixed-size tensors are read in place: a small header stays on the loop, whatever the body.
    expect(decodesOffLoop(64 * MIN, 200, fp32, MIN)).toBe(false);
    // Binary BYTES (or a signature that does not say) past the size: there.
    expect(decodesOffLoop(MIN, 200, text, MIN)).toBe(true);
    expect(decodesOffLoop(MIN, 200, undefined, MIN)).toBe(true);
    expect(decodesOffLoop(MIN - 1, 200, text, MIN)).toBe(false);
    // A large JSON header, whatever follows it.
    expect(decodesOffLoop(2 * MIN, MIN, fp32, MIN)).toBe(true);
  });

  it('encodes large JSON answers there, and large answers with BYTES outputs', () => {
    const floats: Tensor = { name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array(1) };
    const strings: Tensor = { name: 's', datatype: 'BYTES', shape: [1], data: ['a'] };
    const json = (bytes: number) => () => bytes;
    expect(encodesOffLoop([floats], 10, json(MIN - 1), MIN)).toBe(false);
    expect(encodesOffLoop([floats], MIN, json(MIN), MIN)).toBe(true);
    // What formatting is expected to write decides, not the answer's least size: 100,000 floats
    // are 200 KB at least and ~1.6 MB expected (10-20 ms of the loop written there).
    expect(encodesOffLoop([floats], MIN - 1, json(8 * MIN), MIN)).toBe(true);
    expect(encodesOffLoop([floats], 4 * MIN, json(0), MIN)).toBe(false); // binary floats: a copy
    expect(encodesOffLoop([floats, strings], MIN, json(10), MIN)).toBe(true);
    expect(encodesOffLoop([strings], MIN - 1, json(MIN - 1), MIN)).toBe(false);
  });
});
