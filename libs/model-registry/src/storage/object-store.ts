import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Reject with PayloadTooLargeError once the body goes past this many bytes. */
  maxBytes?: number;
  contentType?: string;
}

export interface PutResult {
  key: string;
  sizeBytes: number;
  /** Lowercase hex SHA-256 of the stored bytes. */
  sha256: string;
}

/**
 * Artifact storage. Keys are `/`-separated segments of `[A-Za-z0-9._-]` (see object-key.ts);
 * prefixes name folders. A put is all or nothing: readers see the old object or the whole
 * new one, and a failed put leaves nothing behind. delete of a missing key is a no-op.
 */
export interface ObjectStore {
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult>;
  /** Rejects with ObjectNotFoundError when the key does not exist. */
  get(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Deletes every object under the folder; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Every key under the folder ('' for all), recursively, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Readiness: resolves when the store can be used, rejects with the reason otherwise. */
  check(): Promise<void>;
}
