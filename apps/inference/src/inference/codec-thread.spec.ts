import {
  decodeInferRequest,
  decodePredictRequest,
  encodeInferResponse,
  encodePredictResponse,
  type Tensor,
  TensorError,
} from '@maas/tensors';
import { loopTurnsDuring } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { CodecThread } from './codec-thread.js';

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
    const { result, turns } = await loopTurnsDuring(() => codec.decodeInfer(body, options));
    const expected = decodeInferRequest(body, options);
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
    // The body is the caller's still (the thread got a copy).
    expect(body.length).toBeGreaterThan(0);
    expect(body.subarray(0, 8).toString()).toBe('{"id":"r');
  });

  it('encodes a large answer exactly as the event loop does', async () => {
    const outputs: Tensor[] = [
      {
        name: 'output',
        datatype: 'FP32',
        shape: [200_000, 3],
        data: Float32Array.from({ length: 600_000 }, (_, i) => i / 7),
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
    const encoded = await codec.encodePredict(outputs, decoded.format);
    expect(encoded.body.equals(encodePredictResponse(outputs, decoded.format).body)).toBe(true);
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
});
