import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from './fs-object-store.js';

/** Every file and folder under `dir`, relative, so a test can see exactly what was left. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

/** Polls until a put has its temp file open, so mid-stream checks do not race the writer. */
async function untilTempFileIn(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if ((await tree(dir)).some((entry) => entry.endsWith('.tmp~'))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no temp file appeared');
}

describe('FsObjectStore on disk', () => {
  let base: string;
  let root: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'fs-store-disk-'));
    root = join(base, 'root');
    store = new FsObjectStore(root);
    await store.check();
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('lays keys out as folders and files under the root', async () => {
    await store.put('tenants/t1/datasets/d1', Buffer.from('a,b\n'));
    expect(await tree(root)).toEqual([
      'tenants',
      'tenants/t1',
      'tenants/t1/datasets',
      'tenants/t1/datasets/d1',
    ]);
  });

  it('leaves no file, temp file or new folder when the source fails mid-stream', async () => {
    const source = new PassThrough();
    const put = store.put('tenants/t1/models/m/versions/1/model.onnx', source);
    source.write(Buffer.alloc(100_000, 1));
    await untilTempFileIn(root);
    // Mid-stream, the bytes so far sit in a temp file, never under the final name.
    const during = await tree(root);
    expect(during.some((entry) => entry.endsWith('model.onnx'))).toBe(false);
    expect(during.some((entry) => entry.endsWith('.tmp~'))).toBe(true);

    source.destroy(new Error('connection reset'));
    await expect(put).rejects.toThrow('connection reset');

    expect(await tree(root)).toEqual([]);
  });

  it('leaves nothing when a size limit is hit mid-stream', async () => {
    const source = Readable.from(Array.from({ length: 100 }, () => Buffer.alloc(1024)));
    await expect(store.put('a/b/c', source, { maxBytes: 10_000 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(await tree(root)).toEqual([]);
  });

  it('keeps readers on the old object until a replacing put completes', async () => {
    await store.put('k', Buffer.from('old'));
    const source = new PassThrough();
    const put = store.put('k', source);
    source.write('ne');
    await untilTempFileIn(root);

    expect((await store.getBuffer('k')).toString()).toBe('old');
    source.end('w');
    await put;
    expect((await store.getBuffer('k')).toString()).toBe('new');
  });

  it('never lists leftover temp files or stray names, and deletePrefix removes them', async () => {
    await store.put('m/v/1/model.onnx', Buffer.from('x'));
    await writeFile(join(root, 'm/v/1/.model.onnx.123.tmp~'), 'crash leftover');
    await writeFile(join(root, 'm/v/1/has space'), 'not a key');

    expect(await store.list('')).toEqual(['m/v/1/model.onnx']);
    expect(await store.deletePrefix('m/v/1')).toBe(1);
    expect(await tree(root)).toEqual([]);
  });

  it('prunes folders emptied by delete but keeps the root', async () => {
    await store.put('a/b/one', Buffer.from('1'));
    await store.put('a/two', Buffer.from('2'));
    await store.delete('a/b/one');
    expect(await tree(root)).toEqual(['a', 'a/two']);
    await store.delete('a/two');
    expect(await tree(root)).toEqual([]);
    await expect(store.check()).resolves.toBeUndefined();
  });

  it('treats a folder as no object', async () => {
    await store.put('folder/file', Buffer.from('x'));
    await expect(store.get('folder')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.exists('folder')).toBe(false);
    await store.delete('folder');
    expect(await store.exists('folder/file')).toBe(true);
  });

  it('writes nothing outside the root for traversal attempts', async () => {
    for (const key of ['../outside', 'a/../../outside', `${base}/outside`, '..\\outside']) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    expect(await tree(base)).toEqual(['root']);
  });

  it('reports not ready when the root cannot be created', async () => {
    await writeFile(join(base, 'file'), 'x');
    await expect(new FsObjectStore(join(base, 'file', 'root')).check()).rejects.toThrow();
  });

  it('streams large objects back', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 9);
    await mkdir(root, { recursive: true });
    await store.put('large', body);
    const received: Buffer[] = [];
    for await (const chunk of await store.get('large')) received.push(chunk as Buffer);
    expect(Buffer.concat(received).equals(body)).toBe(true);
  });
});
