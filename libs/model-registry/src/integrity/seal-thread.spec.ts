import { createHash, randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { loopTurnsDuring } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { decryptBuffer, encryptStream, generateDataKey } from './envelope.js';
import { SEAL_BATCH_BYTES, SealThread } from './seal-thread.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const KEY = 'tenants/t/models/m/versions/1/model.onnx';

async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function readAll(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('SealThread: uploads hashed and encrypted off the event loop', () => {
  const thread = new SealThread();

  it('writes the envelope encryptStream writes, and the plaintext sha256, however the body is cut', async () => {
    const key = generateDataKey();
    const cases: [string, Buffer, number[]][] = [
      ['empty', Buffer.alloc(0), [1]],
      ['one small chunk', randomBytes(1000), [1000]],
      ['chunks across batches', randomBytes(3 * SEAL_BATCH_BYTES + 12_345), [65_536, 1, 7000, 0]],
      [
        'one chunk larger than a batch',
        randomBytes(SEAL_BATCH_BYTES * 2 + 3),
        [SEAL_BATCH_BYTES * 2 + 3],
      ],
    ];
    for (const [name, plaintext, sizes] of cases) {
      const sealed = thread.seal(chunked(plaintext, sizes), key, KEY);
      const stored = await readAll(sealed.chunks);
      expect(sealed.sha256(), name).toBe(sha256(plaintext));
      expect(decryptBuffer(stored, key, KEY).equals(plaintext), name).toBe(true);
      // Same layout and size as the event loop's own encryptStream.
      const reference = await readAll(
        encryptStream(chunked(plaintext, sizes), key, KEY, () => undefined),
      );
      expect(stored.length, name).toBe(reference.length);
      expect(() => decryptBuffer(stored, key, 'another artifact'), name).toThrow();
    }
  });

  it('leaves the event loop free while it works, and the caller’s chunks as they were', async () => {
    const key = generateDataKey();
    const plaintext = randomBytes(48 * 1024 * 1024);
    const copy = Buffer.from(plaintext);
    const sealed = thread.seal(chunked(plaintext, [SEAL_BATCH_BYTES * 4]), key, KEY);
    const { result: stored, turns } = await loopTurnsDuring(() => readAll(sealed.chunks));
    expect(decryptBuffer(stored, key, KEY).equals(copy)).toBe(true);
    expect(plaintext.equals(copy)).toBe(true);
    // 48 MiB of sha256 and AES-GCM on this thread would have held the loop through it.
    expect(turns).toBeGreaterThan(10);
  });

  it('fails a stream whose thread dies under it, and seals the next one on a new thread', async () => {
    const key = generateDataKey();
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    async function* body(): AsyncGenerator<Buffer> {
      yield randomBytes(SEAL_BATCH_BYTES);
      await paused;
      yield randomBytes(SEAL_BATCH_BYTES);
      yield randomBytes(10);
    }
    const sealed = thread.seal(body(), key, KEY);
    const read = readAll(sealed.chunks);
    // Once the stream is open on it, the thread goes away.
    const worker = () => (thread as unknown as { calls: { worker?: Worker } }).calls.worker;
    while (worker() === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    await worker()!.terminate();
    release();
    await expect(read).rejects.toThrow(/sealing thread/);
    const plaintext = randomBytes(3000);
    const next = thread.seal(chunked(plaintext, [1000]), key, KEY);
    expect(decryptBuffer(await readAll(next.chunks), key, KEY).equals(plaintext)).toBe(true);
  });

  it('passes on a failing body, asks for no digest, and seals the next stream as before', async () => {
    const key = generateDataKey();
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(SEAL_BATCH_BYTES + 1);
      yield randomBytes(10);
      throw new Error('client went away');
    }
    const sealed = thread.seal(failing(), key, KEY);
    await expect(readAll(sealed.chunks)).rejects.toThrow('client went away');
    expect(() => sealed.sha256()).toThrow(/not been read to its end/);
    const plaintext = randomBytes(5000);
    const next = thread.seal(chunked(plaintext, [100]), key, KEY);
    expect(decryptBuffer(await readAll(next.chunks), key, KEY).equals(plaintext)).toBe(true);
    expect(next.sha256()).toBe(sha256(plaintext));
  });
});
