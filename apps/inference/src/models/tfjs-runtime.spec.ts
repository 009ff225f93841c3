import * as tf from '@tensorflow/tfjs';
import { packTfjsLayersModel } from '@maas/testing';
import { availableTfjsBackends } from '@maas/tfjs-runtime';
import { describe, expect, it } from 'vitest';
import { loadTfjsRuntime, tfjsBackendName } from './tfjs-runtime.js';

/** A small Dense model, packed as the registry takes it (files in a folder of the .zip). */
async function layersArchive(): Promise<{ zip: Buffer; model: tf.LayersModel }> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu', name: 'hidden' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'probs' }),
    ],
  });
  return { zip: await packTfjsLayersModel(model, { folder: 'model' }), model };
}

describe('TF.js runtime', () => {
  it('loads a layers model archive and computes what TF.js computes, batched', async () => {
    const { zip, model } = await layersArchive();
    const runtime = await loadTfjsRuntime(
      zip,
      [{ name: 'hidden_input', datatype: 'FP32', shape: [-1, 3] }],
      [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }],
    );
    expect(runtime.backend).toBe(tfjsBackendName());
    expect(availableTfjsBackends().map((b) => `tfjs-${b}`)).toContain(runtime.backend);
    const rows = [
      [1, 2, 3],
      [-1, 0.5, 4],
    ];
    const [output] = await runtime.run(
      [
        {
          name: 'hidden_input',
          datatype: 'FP32',
          shape: [2, 3],
          data: new Float32Array(rows.flat()),
        },
      ],
      ['probs'],
    );
    expect(output).toMatchObject({ name: 'probs', datatype: 'FP32', shape: [2, 2] });
    const expected = (model.predict(tf.tensor2d(rows)) as tf.Tensor).dataSync();
    [...(output!.data as Float32Array)].forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    await runtime.release();
  });
});
