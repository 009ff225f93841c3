import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  decryptBuffer,
  DecryptionError,
  ENCRYPTION_OVERHEAD,
  encryptBuffer,
  encryptStream,
  generateDataKey,
  unwrapDataKey,
  wrapDataKey,
} from './envelope.js';

const master = { id: 'm1', key: randomBytes(32) };

describe('envelope encryption', () => {
  it('wraps a data key that only the same master key and tenant unwrap', () => {
    const dataKey = generateDataKey();
    const wrapped = wrapDataKey(master, dataKey, 'tenant-a');
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(unwrapDataKey(master, wrapped, 'tenant-a')).toEqual(dataKey);
    expect(() => unwrapDataKey(master, wrapped, 'tenant-b')).toThrow(DecryptionError);
    expect(() => unwrapDataKey({ id: 'm2', key: randomBytes(32) }, wrapped, 'tenant-a')).toThrow(
      DecryptionError,
    );
  });

  it('streams the same format decryptBuffer reads, seeing every plaintext chunk', async () => {
    const dataKey = generateDataKey();
    const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(3)];
    let seen = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of encryptStream(Readable.from(parts), dataKey, 'a/key', (c) => {
      seen += c.length;
    })) {
      chunks.push(chunk);
    }
    const stored = Buffer.concat(chunks);
    expect(seen).toBe(71_003);
    expect(stored.length).toBe(71_003 + ENCRYPTION_OVERHEAD);
    expect(decryptBuffer(stored, dataKey, 'a/key')).toEqual(Buffer.concat(parts));
  });

  it('rejects a flipped bit, a truncation and an artifact moved to another key', () => {
    const dataKey = generateDataKey();
    const plaintext = randomBytes(4096);
    const stored = encryptBuffer(plaintext, dataKey, 'tenants/t/models/m/versions/1/model.onnx');
    const flipped = Buffer.from(stored);
    flipped[100] ^= 1;
    expect(() =>
      decryptBuffer(flipped, dataKey, 'tenants/t/models/m/versions/1/model.onnx'),
    ).toThrow(DecryptionError);
    expect(() =>
      decryptBuffer(stored.subarray(0, -1), dataKey, 'tenants/t/models/m/versions/1/model.onnx'),
    ).toThrow(DecryptionError);
    expect(() =>
      decryptBuffer(stored, dataKey, 'tenants/t/models/m/versions/2/model.onnx'),
    ).toThrow(DecryptionError);
    expect(() => decryptBuffer(plaintext, dataKey, 'x')).toThrow(/not an encrypted artifact/);
  });
});
