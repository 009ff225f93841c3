import { finished, PassThrough, Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { DomainError, statusOf } from '@maas/app-runtime';

/**
 * What a failure reading the client's body becomes: its own 4xx when it has one (413 past a
 * size limit), else 400. A multipart body that ends early, a malformed part header or a client
 * that hangs up are the client's doing, never a 500.
 */
function clientBodyError(error: unknown, what: string): Error {
  const status = statusOf(error);
  if (status >= 400 && status < 500) return error as Error;
  return new DomainError(
    'INVALID_ARGUMENT',
    `${what}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/**
 * `source` with its errors, and an end before its end (the client hung up), turned into
 * client errors: the consumer sees them as 4xx.
 */
function asClientStream(source: Readable, what: string): Readable {
  const out = new PassThrough();
  // The consumer may not be reading yet (it checks quotas first): the error stays on the stream
  // (`errored`, seen by its iterator or by `finished`) instead of crashing the process.
  out.on('error', () => undefined);
  finished(source, (error) => {
    if (error) out.destroy(clientBodyError(error, what));
  });
  return source.pipe(out);
}

/** The artifact stream of an upload: a raw body, or the multipart field `file`. */
export async function uploadBody(request: FastifyRequest): Promise<Readable | Buffer> {
  if (request.isMultipart()) {
    try {
      for await (const part of request.parts()) {
        if (part.type === 'file' && part.fieldname === 'file') {
          return asClientStream(part.file, 'malformed multipart body');
        }
        if (part.type === 'file') part.file.resume();
      }
    } catch (error) {
      throw clientBodyError(error, 'malformed multipart body');
    }
    throw new DomainError('INVALID_ARGUMENT', "multipart upload has no 'file' field");
  }
  const body = request.body;
  if (body instanceof Readable) return asClientStream(body, 'request body');
  if (Buffer.isBuffer(body)) return body;
  throw new DomainError(
    'UNSUPPORTED_MEDIA_TYPE',
    "send the artifact as application/octet-stream or as multipart/form-data field 'file'",
  );
}
