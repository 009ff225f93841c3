import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { startS3rver, type S3rverProcess } from '@maas/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createObjectStore } from './create-object-store.js';
import { FsObjectStore } from './fs-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-object-store.js';
import {
  InvalidObjectKeyError,
  ObjectNotFoundError,
  PayloadTooLargeError,
} from './storage-errors.js';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

function chunks(...parts: string[]): Readable {
  return Readable.from(parts.map((part) => Buffer.from(part)));
}

/** Never ends: proves a size limit stops reading instead of buffering everything first. */
function endless(chunkSize = 64 * 1024): Readable {
  return new Readable({
    read() {
      this.push(Buffer.alloc(chunkSize, 7));
    },
  });
}

function failingAfter(parts: string[], error: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const part of parts) yield Buffer.from(part);
      throw error;
    })(),
  );
}

interface Driver {
  name: string;
  setUp(): Promise<ObjectStore>;
  tearDown(): Promise<void>;
}

let s3rver: S3rverProcess;
const bucket = 'maas-test';
let s3Stores: S3ObjectStore[] = [];

beforeAll(async () => {
  s3rver = await startS3rver(bucket);
});

afterAll(async () => {
  s3Stores.forEach((store) => store.destroy());
  await s3rver.stop();
});

function s3Store(bucketName = bucket): S3ObjectStore {
  const store = new S3ObjectStore({
    endpoint: s3rver.endpoint,
    region: 'us-east-1',
    bucket: bucketName,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
  });
  s3Stores.push(store);
  return store;
}

let fsRoot = '';
let runCounter = 0;
const drivers: Driver[] = [
  {
    name: 'fs',
    async setUp() {
      fsRoot = await mkdtemp(join(tmpdir(), 'fs-object-store-'));
      return createObjectStore({ driver: 'fs', root: fsRoot });
    },
    async tearDown() {
      await rm(fsRoot, { recursive: true, force: true });
    },
  },
  {
    name: 's3',
    async setUp() {
      const store = s3Store();
      // Objects from earlier tests would leak into list(); each test gets its own folder.
      runCounter += 1;
      return new PrefixedStore(store, `run-${runCounter}/`);
    },
    async tearDown() {
      s3Stores.forEach((store) => store.destroy());
      s3Stores = [];
    },
  },
];

/** Keeps s3 tests apart in one bucket without hiding any behaviour of the real store. */
class PrefixedStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly base: string,
  ) {}
  private at(key: string) {
    return key.startsWith('/') || key === '' ? key : `${this.base}${key}`;
  }
  async put(key: string, body: Readable | Buffer, options?: { maxBytes?: number }) {
    const result = await this.inner.put(this.at(key), body, options);
    return { ...result, key };
  }
  get(key: string) {
    return this.inner.get(this.at(key));
  }
  getBuffer(key: string) {
    return this.inner.getBuffer(this.at(key));
  }
  exists(key: string) {
    return this.inner.exists(this.at(key));
  }
  delete(key: string) {
    return this.inner.delete(this.at(key));
  }
  deletePrefix(prefix: string) {
    return this.inner.deletePrefix(this.at(prefix));
  }
  async list(prefix: string) {
    const keys = await this.inner.list(prefix === '' ? this.base : this.at(prefix));
    return keys.map((key) => key.slice(this.base.length));
  }
  check() {
    return this.inner.check();
  }
}

describe.each(drivers)('$name object store', (driver) => {
  let store: ObjectStore;

  beforeEach(async () => {
    store = await driver.setUp();
    return () => driver.tearDown();
  });

  it('stores a buffer and reports its size and sha256', async () => {
    const body = Buffer.from('hello model');
    const result = await store.put('tenants/t1/a.bin', body);

    expect(result).toEqual({
      key: 'tenants/t1/a.bin',
      sizeBytes: body.length,
      sha256: sha256(body),
    });
    expect(await store.getBuffer('tenants/t1/a.bin')).toEqual(body);
    expect(await text(await store.get('tenants/t1/a.bin'))).toBe('hello model');
    expect(await store.exists('tenants/t1/a.bin')).toBe(true);
  });

  it('streams a multi-chunk body, hashing it on the way', async () => {
    const parts = ['first,', 'second,', 'x'.repeat(200_000)];
    const result = await store.put('data/streamed.csv', chunks(...parts), {
      contentType: 'text/csv',
    });

    const whole = parts.join('');
    expect(result.sizeBytes).toBe(Buffer.byteLength(whole));
    expect(result.sha256).toBe(sha256(whole));
    expect((await store.getBuffer('data/streamed.csv')).toString()).toBe(whole);
  });

  it('stores empty objects', async () => {
    const result = await store.put('empty', Buffer.alloc(0));
    expect(result).toEqual({ key: 'empty', sizeBytes: 0, sha256: sha256('') });
    expect(await store.getBuffer('empty')).toEqual(Buffer.alloc(0));
  });

  it('replaces an object on a second put', async () => {
    await store.put('k', Buffer.from('old'));
    await store.put('k', chunks('n', 'ew'));
    expect((await store.getBuffer('k')).toString()).toBe('new');
  });

  it('answers NOT_FOUND for a missing key and false from exists', async () => {
    await expect(store.get('missing/key')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.getBuffer('missing/key')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.exists('missing/key')).toBe(false);
  });

  it('deletes one object, and deleting a missing one is a no-op', async () => {
    await store.put('a/one', Buffer.from('1'));
    await store.put('a/two', Buffer.from('2'));

    await store.delete('a/one');
    await store.delete('a/one');

    expect(await store.exists('a/one')).toBe(false);
    expect(await store.list('a')).toEqual(['a/two']);
  });

  it('lists recursively, sorted, with folder semantics for prefixes', async () => {
    for (const key of [
      'm/v/2/model.onnx',
      'm/v/10/model.onnx',
      'm/v/1/model.onnx',
      'm/v1/x',
      'n/y',
    ]) {
      await store.put(key, Buffer.from(key));
    }

    expect(await store.list('m/v')).toEqual([
      'm/v/1/model.onnx',
      'm/v/10/model.onnx',
      'm/v/2/model.onnx',
    ]);
    expect(await store.list('m/v/1/')).toEqual(['m/v/1/model.onnx']);
    expect(await store.list('')).toHaveLength(5);
    expect(await store.list('nothing/here')).toEqual([]);
  });

  it('deletes a folder tree and only that tree', async () => {
    for (const key of [
      't/models/m/versions/1/model.onnx',
      't/models/m/versions/1/meta.json',
      't/models/m/versions/10/model.onnx',
    ]) {
      await store.put(key, Buffer.from(key));
    }

    expect(await store.deletePrefix('t/models/m/versions/1/')).toBe(2);
    expect(await store.list('t')).toEqual(['t/models/m/versions/10/model.onnx']);
    expect(await store.deletePrefix('t/models/m/versions/1')).toBe(0);
  });

  it('rejects an oversize stream mid-stream and stores nothing', async () => {
    const source = endless();
    await expect(
      store.put('big/model.onnx', source, { maxBytes: 1_000_000 }),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    source.destroy();

    expect(await store.exists('big/model.onnx')).toBe(false);
    expect(await store.list('')).toEqual([]);
  });

  it('keeps the previous object when an oversize put replaces it', async () => {
    await store.put('k', Buffer.from('small'));
    await expect(store.put('k', Buffer.alloc(11), { maxBytes: 10 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(store.put('k', chunks('0123456789', 'x'), { maxBytes: 10 })).rejects.toMatchObject(
      {
        code: 'PAYLOAD_TOO_LARGE',
      },
    );
    expect((await store.getBuffer('k')).toString()).toBe('small');
  });

  it('accepts a body of exactly maxBytes', async () => {
    const result = await store.put('exact', chunks('01234', '56789'), { maxBytes: 10 });
    expect(result.sizeBytes).toBe(10);
  });

  it('stores nothing when the source fails mid-stream', async () => {
    const failure = new Error('client went away');
    await expect(
      store.put('broken/file', failingAfter(['part one', 'part two'], failure)),
    ).rejects.toBe(failure);
    expect(await store.exists('broken/file')).toBe(false);
    expect(await store.list('')).toEqual([]);
  });

  it.each([
    '../escape',
    'a/../../escape',
    '/etc/passwd',
    'a\\b',
    'a\u0000b',
    'a//b',
    'a/',
    '',
    '.',
    'a/./b',
    'a b',
    'modèle',
  ])('rejects the key %j on every operation', async (key) => {
    const invalid = { name: 'InvalidObjectKeyError', code: 'INVALID_ARGUMENT' };
    await expect(store.put(key, Buffer.from('x'))).rejects.toMatchObject(invalid);
    await expect(store.get(key)).rejects.toMatchObject(invalid);
    await expect(store.exists(key)).rejects.toMatchObject(invalid);
    await expect(store.delete(key)).rejects.toMatchObject(invalid);
  });

  it('refuses to delete the whole store or an escaping prefix', async () => {
    await expect(store.deletePrefix('')).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.deletePrefix('../')).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.list('../')).rejects.toBeInstanceOf(InvalidObjectKeyError);
  });

  it('is ready', async () => {
    await expect(store.check()).resolves.toBeUndefined();
  });
});

describe('S3ObjectStore', () => {
  it('is not ready when its bucket does not exist', async () => {
    await expect(s3Store('no-such-bucket').check()).rejects.toThrow();
  });

  it('stores the sha256 as object metadata and the bytes verbatim (no chunk framing)', async () => {
    const store = s3Store();
    const body = 'a,b\n1,2\n';
    const { sha256: digest } = await store.put('meta/check.csv', chunks('a,b\n', '1,2\n'));
    expect(digest).toBe(sha256(body));
    expect((await store.getBuffer('meta/check.csv')).toString()).toBe(body);
    // What s3rver wrote to its disk: the bytes themselves, and our sha256 as user metadata.
    const onDisk = join(s3rver.directory, bucket, 'meta', 'check.csv._S3rver_');
    expect(await readFile(`${onDisk}object`, 'utf8')).toBe(body);
    const metadata = JSON.parse(await readFile(`${onDisk}metadata.json`, 'utf8'));
    expect(metadata['x-amz-meta-sha256']).toBe(digest);
    await store.delete('meta/check.csv');
  });
});

describe('createObjectStore', () => {
  it('builds the driver the config names', () => {
    expect(createObjectStore({ driver: 'fs', root: '/tmp/x' })).toBeInstanceOf(FsObjectStore);
    const s3 = createObjectStore({
      driver: 's3',
      region: 'us-east-1',
      bucket: 'b',
      endpoint: 'http://127.0.0.1:1',
    });
    expect(s3).toBeInstanceOf(S3ObjectStore);
    (s3 as S3ObjectStore).destroy();
  });
});
