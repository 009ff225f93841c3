import { TensorDataType, attribute, buildModel, encodeModel, node, valueInfo } from '@maas/onnx';
import { describe, expect, it } from 'vitest';
import { createOrtRuntime } from './model-runtime.js';
import { OrtThreads } from './ort-threads.js';

describe('createOrtRuntime', () => {
  it('serves a model only an optimised session can load, as the upload check accepts it', async () => {
    // out = float(Dropout(bfloat16(x))): no bfloat16 Dropout kernel, so it loads only once the
    // optimiser removed the Dropout (the upload check's ortSessionOptions spec holds the twin).
    const bytes = encodeModel(
      buildModel({
        graph: {
          nodes: [
            node('Cast', ['x'], ['half'], { to: attribute.int(TensorDataType.BFLOAT16) }),
            node('Dropout', ['half'], ['dropped']),
            node('Cast', ['dropped'], ['out'], { to: attribute.int(TensorDataType.FLOAT) }),
          ],
          inputs: [valueInfo('x', TensorDataType.FLOAT, [2])],
          outputs: [valueInfo('out', TensorDataType.FLOAT, [2])],
        },
      }),
    );
    const threads = new OrtThreads(1);
    const runtime = await createOrtRuntime(bytes, { intraOpThreads: 1, threads, tenantId: 't' });
    try {
      const [out] = await runtime.run(
        [{ name: 'x', datatype: 'FP32', shape: [2], data: new Float32Array([1.5, -2]) }],
        ['out'],
      );
      expect(out).toMatchObject({ name: 'out', datatype: 'FP32', shape: [2] });
      expect(Array.from(out!.data as Float32Array)).toEqual([1.5, -2]);
      // A request onnxruntime refuses is the request's fault: 400, and the session serves on.
      await expect(
        runtime.run(
          [{ name: 'x', datatype: 'FP32', shape: [3], data: new Float32Array(3) }],
          ['out'],
        ),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(
        (
          await runtime.run(
            [{ name: 'x', datatype: 'FP32', shape: [2], data: new Float32Array(2) }],
            ['out'],
          )
        )[0]!.shape,
      ).toEqual([2]);
    } finally {
      await runtime.release();
      await threads.close();
    }
  });
});
