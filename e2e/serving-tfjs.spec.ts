import * as tf from '@tensorflow/tfjs';
import { packTfjsLayersModel, startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, apiFor, createTenant } from './serving-helpers.js';

/** A Dense 3 → 2 softmax layers model, zipped as the registry takes it. */
async function layersArchive(): Promise<{ zip: Buffer; model: tf.LayersModel }> {
  tf.env().set('PROD', true);
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'softmax', name: 'probs' })],
  });
  return { zip: await packTfjsLayersModel(model), model };
}

describe('TF.js models through the gateway', () => {
  let platform: TestPlatform;
  let api: Api;
  let key: string;
  let model: tf.LayersModel;

  beforeAll(async () => {
    platform = await startTestPlatform();
    api = apiFor(platform.gateway.url);
    ({ key } = await createTenant(platform, 'tfjs'));
    const archive = await layersArchive();
    model = archive.model;
    await api('/api/models', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { name: 'tiny' },
    });
    const upload = await api('/api/models/tiny/versions?format=tfjs', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/octet-stream' },
      body: archive.zip,
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('serves a layers model over v2 and v1 on the best TF.js backend, and says which', async () => {
    const meta = (await (
      await api('/v2/models/tiny', { headers: { 'x-api-key': key } })
    ).json()) as { platform: string; inputs: { name: string }[]; backend: string };
    expect(meta.platform).toBe('tensorflowjs');
    const rows = [
      [1, 2, 3],
      [0.5, -1, 0],
    ];
    const expected = (model.predict(tf.tensor2d(rows)) as tf.Tensor).arraySync() as number[][];
    const inputName = meta.inputs[0]!.name;
    const v2 = await api('/v2/models/tiny/infer', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { inputs: [{ name: inputName, datatype: 'FP32', shape: [2, 3], data: rows }] },
    });
    expect(v2.status, await v2.clone().text()).toBe(200);
    const out = ((await v2.json()) as { outputs: { data: number[]; shape: number[] }[] })
      .outputs[0]!;
    expect(out.shape).toEqual([2, 2]);
    out.data.forEach((v, i) => expect(v).toBeCloseTo(expected.flat()[i]!, 5));

    const v1 = await api('/v1/models/tiny:predict', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { instances: rows },
    });
    const predictions = ((await v1.json()) as { predictions: number[][] }).predictions;
    predictions.flat().forEach((v, i) => expect(v).toBeCloseTo(expected.flat()[i]!, 5));

    // The backend now loaded is reported in metadata and in the worker's /readyz.
    const ready = (await (await fetch(`${platform.inference.opsUrl}/readyz`)).json()) as {
      checks: Record<string, string>;
    };
    const backend = Object.keys(ready.checks).find((name) => name.startsWith('tfjs-'));
    expect(backend).toMatch(/^tfjs-(tensorflow-gpu|tensorflow|wasm|cpu)$/);
    await expect
      .poll(
        async () =>
          (
            (await (await api('/v2/models/tiny', { headers: { 'x-api-key': key } })).json()) as {
              backend: string;
            }
          ).backend,
      )
      .toBe(backend);
  });
});
