import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PayloadTooLargeError } from './storage-errors.js';

export interface Measured {
  sizeBytes: number;
  sha256: string;
}

/**
 * Copies `body` chunk by chunk to `write`, hashing and counting on the way, and stops at the
 * first chunk that goes past `maxBytes`. The source is not destroyed on stop: when it is an
 * HTTP request its owner can still answer 413 instead of seeing the socket torn down.
 */
export async function copyMetered(
  body: Readable | Buffer,
  write: (chunk: Buffer) => Promise<void>,
  maxBytes?: number,
): Promise<Measured> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const accept = async (chunk: Buffer) => {
    sizeBytes += chunk.length;
    if (maxBytes !== undefined && sizeBytes > maxBytes) throw new PayloadTooLargeError(maxBytes);
    hash.update(chunk);
    if (chunk.length > 0) await write(chunk);
  };
  if (Buffer.isBuffer(body)) {
    await accept(body);
  } else {
    for await (const chunk of body.iterator({ destroyOnReturn: false })) {
      await accept(toBuffer(chunk));
    }
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('object store bodies must be streams of bytes');
}

/** Sha256 of a whole buffer; for callers that already hold the bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** FileHandle.write may write less than asked; loop until the chunk is down. */
export async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
