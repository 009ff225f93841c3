import type { Transport, WireBody } from './transport.js';

/**
 * What an upload can come from. `{ path }` reads a file and works in Node only (it is loaded
 * with a dynamic import, so bundles for browsers never pull `node:fs` in); a stream is sent
 * as it is read and cannot be retried.
 */
export type UploadSource =
  string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | { path: string };

export interface UploadProgress {
  /** Bytes handed to the connection so far. */
  loaded: number;
  /** The size, when known (not for a caller's stream). */
  total?: number;
}

export interface PreparedUpload {
  body: () => Promise<WireBody>;
  replayable: boolean;
  total?: number;
  /** Reports the upload complete (for bodies sent whole, where no byte counts come). */
  finish(): void;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Streaming request bodies (and so byte-level progress) need a runtime whose fetch sends them
 * over HTTP/1.1: Node's does; browsers only over HTTP/2, so there a body is sent whole and the
 * progress callback hears of it once, at the end.
 */
function canStreamRequestBodies(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof process?.versions?.node === 'string';
}

/** Passes the stream through, counting its bytes into `onProgress`. */
function counted(
  stream: ReadableStream<Uint8Array>,
  total: number | undefined,
  onProgress: (progress: UploadProgress) => void,
): ReadableStream<Uint8Array> {
  let loaded = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        controller.enqueue(chunk);
        onProgress({ loaded, total });
      },
    }),
  );
}

/** A stream over `bytes` in 64 KiB chunks (so progress moves while they are sent). */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close();
        return;
      }
      const end = Math.min(bytes.byteLength, offset + CHUNK_BYTES);
      controller.enqueue(bytes.subarray(offset, end));
      offset = end;
    },
  });
}

async function fileBody(path: string): Promise<{ size: number; open: () => WireBody }> {
  const fs = await import('node:fs');
  const { Readable } = await import('node:stream');
  const { size } = await fs.promises.stat(path);
  return {
    size,
    open: () => Readable.toWeb(fs.createReadStream(path)) as unknown as ReadableStream<Uint8Array>,
  };
}

export async function prepareUpload(
  source: UploadSource,
  onProgress?: (progress: UploadProgress) => void,
): Promise<PreparedUpload> {
  const report = onProgress ?? (() => undefined);
  const stream = canStreamRequestBodies() && onProgress !== undefined;
  if (typeof source === 'object' && source !== null && 'path' in source) {
    const file = await fileBody(source.path);
    return {
      body: async () => counted(file.open() as ReadableStream<Uint8Array>, file.size, report),
      replayable: true,
      total: file.size,
      finish: () => undefined,
    };
  }
  if (source instanceof ReadableStream) {
    return {
      body: async () => counted(source, undefined, report),
      replayable: false,
      finish: () => undefined,
    };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const total = source.size;
    return {
      body: async () => (stream ? counted(source.stream(), total, report) : source),
      replayable: true,
      total,
      finish: () => (stream ? undefined : report({ loaded: total, total })),
    };
  }
  const bytes =
    typeof source === 'string'
      ? new TextEncoder().encode(source)
      : source instanceof ArrayBuffer
        ? new Uint8Array(source)
        : (source as Uint8Array);
  const total = bytes.byteLength;
  return {
    body: async () => (stream ? counted(chunked(bytes), total, report) : bytes),
    replayable: true,
    total,
    finish: () => (stream ? undefined : report({ loaded: total, total })),
  };
}

export interface UploadCallOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** POSTs `source` to `path` as `contentType`; answers the JSON the route answers. */
export async function postUpload<T>(
  transport: Transport,
  path: string,
  contentType: string,
  source: UploadSource,
  options: UploadCallOptions,
): Promise<T> {
  const upload = await prepareUpload(source, options.onProgress);
  const answer = await transport.json<T>({
    method: 'POST',
    path,
    headers: { 'content-type': contentType, ...options.headers },
    body: upload.body,
    replayable: upload.replayable,
    signal: options.signal,
  });
  upload.finish();
  return answer;
}
