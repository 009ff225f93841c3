import { describe, expect, it } from 'vitest';
import { checkInputsAgainstSignature } from './signature.check.js';
import type { Tensor, TensorSpec } from './tensor.js';
import { TensorError } from './tensor.error.js';

const signature: TensorSpec[] = [
  { name: 'features', datatype: 'FP32', shape: [-1, 4] },
  { name: 'mask', datatype: 'BOOL', shape: [-1] },
];

function features(shape: number[], datatype: Tensor['datatype'] = 'FP32'): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return { name: 'features', datatype, shape, data: new Float32Array(count) };
}
const mask: Tensor = { name: 'mask', datatype: 'BOOL', shape: [2], data: new Uint8Array(2) };

function messageOf(run: () => void): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TensorError);
    expect((error as TensorError).code).toBe('INVALID_ARGUMENT');
    return (error as Error).message;
  }
  throw new Error('expected a TensorError');
}

describe('checkInputsAgainstSignature', () => {
  it('accepts inputs that fit, in any order, with any size on free dims', () => {
    expect(() => checkInputsAgainstSignature([mask, features([2, 4])], signature)).not.toThrow();
    expect(() => checkInputsAgainstSignature([features([0, 4]), mask], signature)).not.toThrow();
  });

  it('names the input in every failure', () => {
    expect(
      messageOf(() =>
        checkInputsAgainstSignature(
          [features([2, 4]), mask, { ...mask, name: 'extra' }],
          signature,
        ),
      ),
    ).toBe("input 'extra': the model has no such input (its inputs: 'features', 'mask')");
    expect(messageOf(() => checkInputsAgainstSignature([features([2, 4])], signature))).toBe(
      "input 'mask': required by the model but missing from the request",
    );
    expect(
      messageOf(() => checkInputsAgainstSignature([features([2, 4], 'FP64'), mask], signature)),
    ).toBe("input 'features': expected datatype FP32, got FP64");
    expect(messageOf(() => checkInputsAgainstSignature([features([8]), mask], signature))).toBe(
      "input 'features': expected shape [-1,4] (rank 2), got [8] (rank 1)",
    );
    expect(messageOf(() => checkInputsAgainstSignature([features([2, 5]), mask], signature))).toBe(
      "input 'features': expected shape [-1,4], got [2,5] (dimension 1 must be 4)",
    );
  });
});
