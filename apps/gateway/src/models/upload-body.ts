import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '@maas/app-runtime';

/** The artifact stream of an upload: a raw body, or the multipart field `file`. */
export async function uploadBody(request: FastifyRequest): Promise<Readable | Buffer> {
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === 'file' && part.fieldname === 'file') return part.file;
      if (part.type === 'file') part.file.resume();
    }
    throw new DomainError('INVALID_ARGUMENT', "multipart upload has no 'file' field");
  }
  const body = request.body;
  if (body instanceof Readable) return body;
  if (Buffer.isBuffer(body)) return body;
  throw new DomainError(
    'UNSUPPORTED_MEDIA_TYPE',
    "send the artifact as application/octet-stream or as multipart/form-data field 'file'",
  );
}
