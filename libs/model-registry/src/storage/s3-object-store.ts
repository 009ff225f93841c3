import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { copyMetered, writeAll, sha256Hex } from './metered-copy.js';
import { assertValidObjectKey, normalizePrefix } from './object-key.js';
import type { ObjectStore, PutOptions, PutResult } from './object-store.js';
import { ObjectNotFoundError, PayloadTooLargeError } from './storage-errors.js';

export interface S3ObjectStoreOptions {
  /** e.g. http://minio:9000; omit for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Defaults to true: MinIO and s3rver need path-style URLs. */
  forcePathStyle?: boolean;
  /** Where streamed bodies are spooled before upload; defaults to the OS temp dir. */
  spoolDirectory?: string;
}

const DELETE_BATCH_SIZE = 1000;

/**
 * Object store on an S3-compatible bucket. A streamed put is spooled to a local temp file
 * while it is hashed, counted and held to maxBytes, then sent as one PutObject with a known
 * length: no partial object can ever exist, an oversize body never reaches the bucket, and
 * S3-compatible servers need no aws-chunked or multipart support.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly spoolDirectory: string;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.spoolDirectory = options.spoolDirectory ?? tmpdir();
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? true,
      ...(options.accessKeyId !== undefined && {
        credentials: {
          accessKeyId: options.accessKeyId,
          secretAccessKey: options.secretAccessKey ?? '',
        },
      }),
      // Otherwise the SDK sends aws-chunked bodies with trailing checksums, which
      // S3-compatible servers (s3rver, older MinIO) store verbatim.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    assertValidObjectKey(key);
    if (Buffer.isBuffer(body)) {
      if (options.maxBytes !== undefined && body.length > options.maxBytes) {
        throw new PayloadTooLargeError(options.maxBytes);
      }
      const sha256 = sha256Hex(body);
      await this.upload(key, body, body.length, sha256, options.contentType);
      return { key, sizeBytes: body.length, sha256 };
    }

    const spool = await mkdtemp(join(this.spoolDirectory, 'maas-upload-'));
    try {
      const file = join(spool, 'body');
      const handle = await open(file, 'wx');
      let measured;
      try {
        measured = await copyMetered(body, (chunk) => writeAll(handle, chunk), options.maxBytes);
      } finally {
        await handle.close();
      }
      const { sizeBytes, sha256 } = measured;
      await this.upload(key, createReadStream(file), sizeBytes, sha256, options.contentType);
      return { key, sizeBytes, sha256 };
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidObjectKey(key);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    assertValidObjectKey(key);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      if (!response.Body) return Buffer.alloc(0);
      const bytes = await response.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    assertValidObjectKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidObjectKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const folder = normalizePrefix(prefix, { allowEmpty: false });
    const keys = await this.list(folder);
    for (let start = 0; start < keys.length; start += DELETE_BATCH_SIZE) {
      const batch = keys.slice(start, start + DELETE_BATCH_SIZE);
      const response = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(
          `could not delete ${failed.length} objects under '${folder}': ${first.Key}: ${first.Message}`,
        );
      }
    }
    return keys.length;
  }

  async list(prefix: string): Promise<string[]> {
    const folder = normalizePrefix(prefix, { allowEmpty: true });
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      const response = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: folder === '' ? undefined : folder,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of response.Contents ?? []) if (object.Key) keys.push(object.Key);
      continuationToken = response.IsTruncated ? response.NextContinuationToken : undefined;
    } while (continuationToken);
    return keys.sort();
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** Closes the client's keep-alive sockets (for shutdown and tests). */
  destroy(): void {
    this.client.destroy();
  }

  private async upload(
    key: string,
    body: Buffer | Readable,
    sizeBytes: number,
    sha256: string,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: sizeBytes,
        ContentType: contentType,
        Metadata: { sha256 },
      }),
    );
  }
}

function isNotFound(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (candidate?.name === 'NoSuchBucket') return false;
  return (
    candidate?.name === 'NoSuchKey' ||
    candidate?.name === 'NotFound' ||
    candidate?.$metadata?.httpStatusCode === 404
  );
}
