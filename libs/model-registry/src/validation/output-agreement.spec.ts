import { buildGemmModel, buildMlpModel, pruneMagnitude, quantizeInt8, randomMlp } from '@maas/onnx';
import { describe, expect, it } from 'vitest';
import { measureOutputAgreement } from './output-agreement.js';

const mlp = buildMlpModel({ layers: randomMlp([784, 256, 256, 10], 17) });

describe('measureOutputAgreement', () => {
  // A random MLP's softmax is nearly flat, so a few rows are near-ties that an error of 0.003
  // flips: measured 98.9 % (seed 17), 99.1 % (seed 1), 99.3 % (seed 2) on 1000 rows, and the
  // weight-only qdq form is no better. Hence 98 %, with the error itself bounded tightly.
  it('finds the int8 MLP agreeing with fp32 on at least 98 % of 1000 rows', async () => {
    const agreement = await measureOutputAgreement(mlp, quantizeInt8(mlp).bytes, { samples: 1000 });
    expect(agreement.samples).toBe(1000);
    expect(agreement.outputs).toHaveLength(1);
    const [output] = agreement.outputs;
    expect(output.name).toBe('output');
    expect(output.top1Agreement).toBeGreaterThanOrEqual(0.98);
    expect(output.maxAbsError).toBeGreaterThan(0);
    expect(output.maxAbsError).toBeLessThan(0.01);
  });

  it('reports full agreement and no error for the same model', async () => {
    const agreement = await measureOutputAgreement(mlp, mlp, { samples: 100 });
    expect(agreement.outputs[0]).toEqual({
      name: 'output',
      top1Agreement: 1,
      maxAbsError: 0,
      maxRelativeError: 0,
    });
  });

  it('sees a model that no longer agrees', async () => {
    const pruned = pruneMagnitude(mlp, 0.95).bytes;
    const agreement = await measureOutputAgreement(mlp, pruned, { samples: 200 });
    expect(agreement.outputs[0].top1Agreement).toBeLessThan(0.9);
  });

  it('gives errors but no top-1 for a single-value regressor', async () => {
    const regressor = buildGemmModel({ weights: [[0.5], [-1.5], [2]], bias: [0.25] });
    const pruned = pruneMagnitude(regressor, 0.34).bytes; // drops the 0.5
    const agreement = await measureOutputAgreement(regressor, pruned, { samples: 64, seed: 3 });
    const [output] = agreement.outputs;
    expect(output.top1Agreement).toBeUndefined();
    // Inputs are in [0, 1), so the missing 0.5·x₀ is below 0.5 and above 0.
    expect(output.maxAbsError).toBeGreaterThan(0.3);
    expect(output.maxAbsError).toBeLessThan(0.5);
    expect(output.maxRelativeError).toBeGreaterThan(0);
    expect(output.maxRelativeError).toBeLessThan(1);
  });
});
