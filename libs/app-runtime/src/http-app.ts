import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AppExceptionFilter } from './exception.filter.js';
import { PinoNestLogger } from './logger.js';
import { HttpMetrics } from './metrics.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes the caller's x-request-id when it is sane, else makes one. */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit?: number;
}

/**
 * Creates a Nest app on Fastify with the platform's common behaviour: request ids (taken from
 * x-request-id or generated, echoed back), one JSON log line per request, HTTP metrics, and
 * graceful shutdown on SIGTERM (Fastify stops accepting and drains in-flight requests).
 */
export async function createHttpApp(
  module: Parameters<typeof NestFactory.create>[0],
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    logger: false,
    requestIdHeader: false,
    genReqId: requestIdFor,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new PinoNestLogger(options.logger),
    // Each app installs its own content-type parsers (raw streams, buffers, limited JSON).
    bodyParser: false,
  });
  app.useGlobalFilters(new AppExceptionFilter(options.logger));
  const metrics = app.get(HttpMetrics, { strict: false });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, seconds);
    options.logger.info(
      {
        requestId: request.id,
        method: request.method,
        url: request.url,
        route,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });
  app.enableShutdownHooks();
  return app;
}
