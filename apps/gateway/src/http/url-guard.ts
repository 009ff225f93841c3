import type { FastifyInstance } from 'fastify';
import { DomainError, type Logger, sendError } from '@maas/app-runtime';

/** A percent-encoded C0 control character or DEL (a raw one never gets past Node's parser). */
const ENCODED_CONTROL_CHARACTER = /%(?:[01][0-9a-f]|7f)/i;

/** Whether a request target carries a control character once decoded (path or query). */
export function urlHasControlCharacter(url: string): boolean {
  return ENCODED_CONTROL_CHARACTER.test(url);
}

/**
 * No route takes a control character in its path or query, and PostgreSQL refuses a NUL byte
 * outright: such URLs are answered 400 before routing, so a name like `%00` never reaches a
 * query (or metering). The inference hot path, ahead of the router, checks its own segments.
 */
export function refuseControlCharactersInUrls(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!urlHasControlCharacter(request.url)) return done();
    sendError(
      request,
      reply,
      new DomainError('INVALID_ARGUMENT', 'the URL carries a control character'),
      logger,
    );
  });
}
