import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
/** A platform master key: wraps the tenants' data keys (never touches artifacts itself). */
export interface MasterKey {
  id: string;
  /** 32 bytes (AES-256) */
  key: Buffer;
}

/** Encrypted bytes that do not decrypt (wrong key, tampering, truncation). */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// Encrypted artifact layout: MAGIC | nonce | AES-256-GCM ciphertext | tag.
const MAGIC = Buffer.from('MAASENC1', 'ascii');

/** Bytes an encrypted artifact adds to its plaintext. */
export const ENCRYPTION_OVERHEAD = MAGIC.length + NONCE_BYTES + TAG_BYTES;

export function assertKeyLength(key: Buffer, what: string): void {
  if (key.length !== KEY_BYTES) throw new Error(`${what} must be ${KEY_BYTES} bytes`);
}

export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** Wraps a tenant's data key; the tenant id is authenticated, so a key cannot move tenants. */
export function wrapDataKey(master: MasterKey, dataKey: Buffer, tenantId: string): Buffer {
  assertKeyLength(master.key, 'master key');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', master.key, nonce);
  cipher.setAAD(Buffer.from(`tenant:${tenantId}`));
  const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function unwrapDataKey(master: MasterKey, wrapped: Uint8Array, tenantId: string): Buffer {
  const bytes = Buffer.from(wrapped);
  if (bytes.length !== NONCE_BYTES + KEY_BYTES + TAG_BYTES) {
    throw new DecryptionError('wrapped data key has the wrong length');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(`tenant:${tenantId}`));
    decipher.setAuthTag(bytes.subarray(NONCE_BYTES + KEY_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new DecryptionError(`master key '${master.id}' does not unwrap this data key`);
  }
}

/** An artifact's first bytes: MAGIC, then the nonce its ciphertext was made with. */
export function envelopeHead(nonce: Buffer): Buffer {
  return Buffer.concat([MAGIC, nonce]);
}

/**
 * Encrypts a plaintext stream chunk by chunk (AES-256-GCM under the data key, the object key
 * as associated data so an artifact cannot be swapped for another one). `onPlaintext` sees
 * every plaintext chunk first (hashing, counting, size limits; throwing stops the stream).
 */
export async function* encryptStream(
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
  dataKey: Buffer,
  associatedData: string,
  onPlaintext: (chunk: Buffer) => void,
): AsyncGenerator<Buffer> {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce);
  cipher.setAAD(Buffer.from(associatedData));
  yield envelopeHead(nonce);
  for await (const chunk of body) {
    onPlaintext(chunk);
    const out = cipher.update(chunk);
    if (out.length > 0) yield out;
  }
  const last = cipher.final();
  yield Buffer.concat([last, cipher.getAuthTag()]);
}

export function encryptBuffer(plaintext: Buffer, dataKey: Buffer, associatedData: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce);
  cipher.setAAD(Buffer.from(associatedData));
  return Buffer.concat([
    MAGIC,
    nonce,
    cipher.update(plaintext),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
}

/** Where an encrypted artifact's parts lie in its bytes (byte offsets into `stored`). */
export interface EnvelopeParts {
  nonce: Buffer;
  /** [start, end) of the ciphertext */
  ciphertext: [number, number];
  tag: Buffer;
}

/** The parts of an encrypted artifact's layout, or DecryptionError when it has none. */
export function envelopeParts(stored: Buffer): EnvelopeParts {
  if (stored.length < ENCRYPTION_OVERHEAD || !stored.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new DecryptionError('not an encrypted artifact (bad header or too short)');
  }
  return {
    nonce: Buffer.from(stored.subarray(MAGIC.length, MAGIC.length + NONCE_BYTES)),
    ciphertext: [MAGIC.length + NONCE_BYTES, stored.length - TAG_BYTES],
    tag: Buffer.from(stored.subarray(stored.length - TAG_BYTES)),
  };
}

export const TAMPERED_MESSAGE = 'authentication tag mismatch (tampered, truncated or wrong key)';

export function decryptBuffer(stored: Buffer, dataKey: Buffer, associatedData: string): Buffer {
  const { nonce, ciphertext, tag } = envelopeParts(stored);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce);
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(stored.subarray(...ciphertext)), decipher.final()]);
  } catch {
    throw new DecryptionError(TAMPERED_MESSAGE);
  }
}
