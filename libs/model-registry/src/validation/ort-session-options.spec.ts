import { TensorDataType, attribute, buildModel, encodeModel, node, valueInfo } from '@maas/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { inspectOnnxModel } from './onnx-inspector.js';
import { ortSessionOptions } from './ort-session-options.js';

/**
 * out = float(Dropout(bfloat16(x))): onnxruntime's CPU provider has no bfloat16 Dropout, so
 * the model loads only once the optimiser has removed the Dropout (levels basic and up).
 */
function optimisedOnlyModel(): Uint8Array {
  return encodeModel(
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
}

describe('ortSessionOptions: what validates is what loads', () => {
  it('builds sessions at the optimisation level the worker serves with', async () => {
    // The same model is unloadable without optimisation: the level is what decides.
    await expect(
      ort.InferenceSession.create(optimisedOnlyModel(), {
        ...ortSessionOptions({ logSeverityLevel: 3 }),
        graphOptimizationLevel: 'disabled',
      }),
    ).rejects.toThrow(/Could not find an implementation for Dropout/);
    const session = await ort.InferenceSession.create(
      optimisedOnlyModel(),
      ortSessionOptions({ logSeverityLevel: 3, intraOpThreads: 1, allowSpinning: true }),
    );
    try {
      const { out } = await session.run({ x: new ort.Tensor('float32', [1.5, -2], [2]) });
      expect(Array.from(out!.data as Float32Array)).toEqual([1.5, -2]);
    } finally {
      await session.release();
    }
  });

  it('so the upload check accepts a model only the optimised session can load', async () => {
    await expect(inspectOnnxModel(optimisedOnlyModel())).resolves.toMatchObject({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
      outputs: [{ name: 'out', datatype: 'FP32', shape: [2] }],
    });
  });
});
