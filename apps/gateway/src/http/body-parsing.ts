import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { DomainError } from '@maas/app-runtime';

// Inference bodies are forwarded to a worker untouched (never parsed and re-serialised here).
const FORWARDED_ROUTE = /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer(\?|$)/;
// TF Serving `:predict` (keywords case-insensitive, as TF Serving matches them).
const FORWARDED_TFS_ROUTE =
  /^\/v1\/models\/[^/:?]+(\/(versions|labels)\/[^/:?]+)?:(predict|classify|regress)(\?|$)/i;

export function isForwardedRoute(url: string): boolean {
  return FORWARDED_ROUTE.test(url) || FORWARDED_TFS_ROUTE.test(url);
}

/** A request body read whole, refused with 413 past `limit` bytes. */
export async function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new DomainError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * JSON bodies of platform routes are parsed here with a size limit; inference bodies and
 * uploads (octet-stream and anything else) reach the handler as the raw request stream.
 */
export function configureBodyParsing(fastify: FastifyInstance, jsonLimit: number): void {
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    if (isForwardedRoute(request.url)) {
      done(null, payload);
      return;
    }
    readLimited(payload, jsonLimit).then(
      (buffer) => {
        if (buffer.length === 0) return done(null, undefined);
        try {
          done(null, JSON.parse(buffer.toString('utf8')));
        } catch (error) {
          done(
            new DomainError('INVALID_ARGUMENT', `malformed JSON body: ${(error as Error).message}`),
            undefined,
          );
        }
      },
      (error: Error) => done(error, undefined),
    );
  });
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}
