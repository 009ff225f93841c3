import type { FastifyInstance } from 'fastify';
import { DomainError, readBody } from '@maas/app-runtime';

/**
 * JSON bodies of platform routes are parsed here with a size limit; uploads (octet-stream and
 * anything else) reach the handler as the raw request stream. Inference requests never get
 * here: InferenceHotPath answers them ahead of the router, forwarding bodies unparsed.
 */
export function configureBodyParsing(fastify: FastifyInstance, jsonLimit: number): void {
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    readBody(payload, jsonLimit).then(
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
