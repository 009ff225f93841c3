import { strToU8, unzipSync, zipSync } from 'fflate';
import { buildTfjsArchive } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { inspectTfjsArchive, readTfjsArchive } from './tfjs-archive.js';
import { InvalidModelError } from './validation-errors.js';

async function rezip(change: (files: Record<string, Uint8Array>) => void): Promise<Uint8Array> {
  const files = unzipSync(await buildTfjsArchive());
  change(files);
  return zipSync(files);
}

async function expectInvalid(bytes: Uint8Array, message: RegExp): Promise<void> {
  const error = await readTfjsArchive(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidModelError);
  expect((error as Error).message).toMatch(message);
}

describe('TF.js archives', () => {
  it('reads model.json, weight specs and weight data from a zip and a tar.gz', async () => {
    for (const kind of ['zip', 'tar.gz'] as const) {
      const archive = await readTfjsArchive(await buildTfjsArchive({ kind }));
      expect(archive.format).toBe('layers-model');
      expect(archive.weightSpecs.map((w) => [w.name, w.shape])).toEqual([
        ['dense/kernel', [4, 3]],
        ['dense/bias', [3]],
      ]);
      expect(archive.weightData.byteLength).toBe((12 + 3) * 4);
    }
  });

  it('reads the signature by loading the model with TensorFlow.js', async () => {
    expect(await inspectTfjsArchive(await buildTfjsArchive({ kind: 'tar.gz' }))).toEqual({
      format: 'layers-model',
      inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'dense', datatype: 'FP32', shape: [-1, 3] }],
    });
  });

  it('rejects missing shards, short shards, no model.json and non-archives', async () => {
    await expectInvalid(await buildTfjsArchive({ dropShard: true }), /shard.*missing/);
    await expectInvalid(
      await rezip((files) => {
        files['group1-shard1of1.bin'] = files['group1-shard1of1.bin'].subarray(0, 20);
      }),
      /hold 20 bytes; model.json needs 60/,
    );
    await expectInvalid(
      await rezip((files) => {
        delete files['model.json'];
      }),
      /no model.json/,
    );
    await expectInvalid(
      await rezip((files) => {
        files['model.json'] = strToU8('{not json');
      }),
      /not valid JSON/,
    );
    await expectInvalid(Buffer.from('just text'), /not a TensorFlow.js model archive/);
  });
});
