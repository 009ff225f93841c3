import { createHash, randomBytes } from 'node:crypto';
import { loopTurnsDuring } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { DecryptionError, encryptBuffer, generateDataKey } from './envelope.js';
import { UnsealThread } from './unseal-thread.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('UnsealThread: artifacts decrypted and hashed off the event loop', () => {
  const thread = new UnsealThread();

  it('decrypts and hashes what encryptBuffer wrote, while the event loop keeps turning', async () => {
    const key = generateDataKey();
    const plaintext = randomBytes(64 * 1024 * 1024);
    const expected = sha256(plaintext);
    const stored = encryptBuffer(plaintext, key, 'tenants/t/models/m/versions/1/model.onnx');
    const { result: unsealed, turns } = await loopTurnsDuring(() =>
      thread.unseal(stored, {
        decrypt: { key, associatedData: 'tenants/t/models/m/versions/1/model.onnx' },
        hash: true,
      }),
    );
    expect(unsealed.sha256).toBe(expected);
    expect(unsealed.plaintext.equals(plaintext)).toBe(true);
    // 64 MiB of AES-GCM and sha256 on this thread would have held the loop for all of it.
    expect(turns).toBeGreaterThan(1);
    // The stored bytes went to the thread without a copy.
    expect(stored.byteLength).toBe(0);
  });

  it('rejects tampered bytes, another key and another artifact’s associated data', async () => {
    const key = generateDataKey();
    const plaintext = randomBytes(4096);
    const seal = () => encryptBuffer(plaintext, key, 'a');
    const flipped = seal();
    flipped[100]! ^= 1;
    await expect(
      thread.unseal(flipped, { decrypt: { key, associatedData: 'a' }, hash: true }),
    ).rejects.toThrow(DecryptionError);
    await expect(
      thread.unseal(seal(), {
        decrypt: { key: generateDataKey(), associatedData: 'a' },
        hash: true,
      }),
    ).rejects.toThrow(DecryptionError);
    await expect(
      thread.unseal(seal(), { decrypt: { key, associatedData: 'b' }, hash: false }),
    ).rejects.toThrow(DecryptionError);
    await expect(
      thread.unseal(plaintext, { decrypt: { key, associatedData: 'a' }, hash: false }),
    ).rejects.toThrow(/not an encrypted artifact/);
    // The thread is still there for the next one.
    const ok = await thread.unseal(seal(), { decrypt: { key, associatedData: 'a' }, hash: true });
    expect(ok.plaintext.equals(plaintext)).toBe(true);
  });

  it('hashes plain bytes, including a small view into a shared pool buffer, leaving the pool intact', async () => {
    const small = Buffer.from('a small model'); // a view into Node's shared pool
    const neighbour = Buffer.from('its neighbour in the pool');
    expect(small.byteLength).toBeLessThan(small.buffer.byteLength);
    const unsealed = await thread.unseal(small, { hash: true });
    expect(unsealed.sha256).toBe(sha256(Buffer.from('a small model')));
    expect(unsealed.plaintext.toString()).toBe('a small model');
    // Copied, not transferred: the pool (and every other view into it) is untouched.
    expect(small.toString()).toBe('a small model');
    expect(neighbour.toString()).toBe('its neighbour in the pool');
    const concurrent = await Promise.all(
      ['x', 'y', 'z'].map((text) =>
        thread.unseal(Buffer.from(text.repeat(100_000)), { hash: true }),
      ),
    );
    expect(concurrent.map((u) => u.sha256)).toEqual(
      ['x', 'y', 'z'].map((text) => sha256(Buffer.from(text.repeat(100_000)))),
    );
  });
});
