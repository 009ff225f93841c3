import type { Readable } from 'node:stream';
import { DomainError } from './errors.js';

/**
 * A request body read whole, refused with 413 past `limit` bytes (the stream is destroyed) and
 * with 400 when the sender goes away before its end. Listens for 'data' rather than iterating
 * the stream: the async iterator costs a promise per chunk on the inference hot path.
 *
 * `declaredLength` (the Content-Length of a sender this process trusts, such as the gateway on
 * a worker's port) gives the body a buffer of that size at once, and each chunk is copied in as
 * it arrives: one `Buffer.concat` at the end of a 14 MiB body held the event loop for 7-19 ms
 * (every other request on it waited), where a chunk's copy takes tens of µs. Without it (a
 * client's own Content-Length: a sender could declare megabytes and send nothing) the chunks
 * are kept and joined at the end. A declared length past `limit` is refused before reading.
 */
export function readBody(
  stream: Readable,
  limit: number,
  declaredLength?: number,
): Promise<Buffer> {
  if (stream.readableEnded) return Promise.resolve(Buffer.alloc(0));
  // Refused from the header, before a byte is read (the rest is left to the HTTP server to drain).
  if (declaredLength !== undefined && declaredLength > limit) {
    return Promise.reject(
      new DomainError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`),
    );
  }
  const preallocated =
    declaredLength !== undefined && Number.isSafeInteger(declaredLength) && declaredLength > 0
      ? Buffer.allocUnsafe(declaredLength)
      : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: Error) => {
      stream.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (error) reject(error);
      // (Only the bytes that arrived: the rest of a preallocated buffer is as the allocator left it.)
      else if (preallocated) resolve(preallocated.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      const after = size + chunk.length;
      const refusal =
        after > limit
          ? new DomainError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`)
          : preallocated && after > preallocated.length
            ? new DomainError('INVALID_ARGUMENT', 'request body is longer than its Content-Length')
            : undefined;
      if (refusal) {
        done(refusal);
        stream.destroy();
        return;
      }
      if (preallocated) chunk.copy(preallocated, size);
      else chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = () => done();
    // The client went away before sending all of it.
    const onClose = () =>
      done(new DomainError('INVALID_ARGUMENT', 'request body ended early: the connection closed'));
    stream.on('data', onData).once('end', onEnd).once('error', done).once('close', onClose);
  });
}
