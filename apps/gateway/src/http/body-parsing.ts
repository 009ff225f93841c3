import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { DomainError } from '@maas/app-runtime';

/**
 * A request body read whole, refused with 413 past `limit` bytes. Listens for 'data' rather than
 * iterating the stream: the async iterator costs a promise per chunk on the inference hot path.
 */
export function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  if (stream.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: Error) => {
      stream.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done(new DomainError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`));
        stream.destroy();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done();
    // The client went away before sending all of it.
    const onClose = () =>
      done(new DomainError('INVALID_ARGUMENT', 'request body ended early: the connection closed'));
    stream.on('data', onData).once('end', onEnd).once('error', done).once('close', onClose);
  });
}

/**
 * JSON bodies of platform routes are parsed here with a size limit; uploads (octet-stream and
 * anything else) reach the handler as the raw request stream. Inference requests never get
 * here: InferenceHotPath answers them ahead of the router, forwarding bodies unparsed.
 */
export function configureBodyParsing(fastify: FastifyInstance, jsonLimit: number): void {
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
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
