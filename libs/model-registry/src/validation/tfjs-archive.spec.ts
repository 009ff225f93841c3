import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
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

  it('refuses weight paths that leave the archive: parents, absolute, URLs, backslashes, NUL', async () => {
    const withPath = (path: unknown, extra: Record<string, Uint8Array> = {}) =>
      rezip((files) => {
        const modelJson = JSON.parse(strFromU8(files['model.json']));
        modelJson.weightsManifest[0].paths = [path];
        files['model.json'] = strToU8(JSON.stringify(modelJson));
        Object.assign(files, extra);
      });
    const cases: [unknown, RegExp][] = [
      ['../../secret', /has a '\.\.' segment/],
      ['shards/../group1-shard1of1.bin', /has a '\.\.' segment/],
      ['/etc/passwd', /has an absolute path/],
      ['file:///etc/passwd', /has a URL scheme/],
      ['https://attacker.example/w.bin', /has a URL scheme/],
      ['C:/secret', /has a URL scheme/],
      ['..\\secret', /has a backslash/],
      ['group1-shard1of1.bin\u0000.png', /has a control character/],
      ['./group1-shard1of1.bin', /has an empty or '\.' segment/],
      ['', /must be the name of a weight file/],
      [42, /must be the name of a weight file/],
    ];
    for (const [path, problem] of cases) {
      const error = await readTfjsArchive(await withPath(path)).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error, String(path)).toBeInstanceOf(InvalidModelError);
      expect(error!.message, String(path)).toMatch(/^weightsManifest\[0\]\.paths\[0\]/);
      expect(error!.message, String(path)).toMatch(problem);
    }
    // A parent path that would land on a file of the archive is refused too, and the message
    // never carries that file's bytes.
    const marker = 'MARKER-7f3a9c-not-for-messages';
    const nested = zipSync({
      ...Object.fromEntries(
        Object.entries(unzipSync(await buildTfjsArchive())).map(([name, data]) => [
          `m/${name}`,
          data,
        ]),
      ),
      'secret.bin': strToU8(marker.padEnd(60, '!')),
    });
    const files = unzipSync(nested);
    const modelJson = JSON.parse(strFromU8(files['m/model.json']));
    modelJson.weightsManifest[0].paths = ['../secret.bin'];
    files['m/model.json'] = strToU8(JSON.stringify(modelJson));
    const error = await readTfjsArchive(zipSync(files)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(InvalidModelError);
    expect(error!.message).toMatch(/has a '\.\.' segment/);
    expect(error!.message).not.toContain('MARKER');
  });

  it('still reads shards in a folder below model.json', async () => {
    const archive = await rezip((files) => {
      const modelJson = JSON.parse(strFromU8(files['model.json']));
      modelJson.weightsManifest[0].paths = ['shards/group1-shard1of1.bin'];
      files['model.json'] = strToU8(JSON.stringify(modelJson));
      files['shards/group1-shard1of1.bin'] = files['group1-shard1of1.bin'];
      delete files['group1-shard1of1.bin'];
    });
    expect((await readTfjsArchive(archive)).weightData.byteLength).toBe(60);
  });
});
