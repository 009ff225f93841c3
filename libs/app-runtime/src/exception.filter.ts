import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  databaseDataErrorOf,
  DEPENDENCY_RETRY_AFTER_SECONDS,
  dependencyErrorCounts,
  dependencyUnavailableOf,
  statusOf,
} from './errors.js';
import { pathOf } from './request-path.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Inference protocols (KServe v2, TF Serving) answer `{"error": "..."}`; the rest RFC 9457. */
export function usesInferenceErrorShape(url: string): boolean {
  return url.startsWith('/v1/') || url.startsWith('/v2');
}

function messageOf(error: unknown): string {
  // Prisma's own message names source files and the query: only PostgreSQL's reason goes out.
  const dataError = databaseDataErrorOf(error);
  if (dataError !== undefined)
    return `the request carries a value the database refuses: ${dataError}`;
  if (error instanceof HttpException) {
    const response = error.getResponse();
    if (typeof response === 'string') return response;
    const message = (response as { message?: unknown }).message;
    if (Array.isArray(message)) return message.join('; ');
    if (typeof message === 'string') return message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An error may name its own problem type (e.g. `monthly-quota-exceeded`), a URL-safe slug. */
function problemTypeOf(error: unknown): string | undefined {
  const type = (error as { problemType?: unknown } | null)?.problemType;
  return typeof type === 'string' && /^[a-z0-9-]{1,64}$/.test(type) ? type : undefined;
}

/** What an error answers, whatever carries it: status, client-safe detail, Retry-After seconds. */
export interface ErrorAnswer {
  status: number;
  /** 5xx details hide internals (the log has them, keyed by the request id). */
  detail: string;
  retryAfterSeconds?: number;
}

/**
 * What `error` answers, whatever carries it (HTTP here, the gateway's inference path, the worker
 * link). A 5xx is logged with `context` (the request id its body or frame carries, and where).
 */
export function errorAnswerOf(
  error: unknown,
  logger: Logger,
  context: Record<string, unknown>,
): ErrorAnswer {
  const dependency = dependencyUnavailableOf(error);
  if (dependency !== undefined) {
    // Not a bug: a dependency is away. Said once per request at warn, counted for alerts.
    dependencyErrorCounts[dependency] += 1;
    logger.warn({ err: error, dependency, ...context }, 'request failed: dependency unavailable');
    return {
      status: 503,
      detail: `the ${dependency} is unavailable; retry later`,
      retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
    };
  }
  const status = statusOf(error);
  if (status >= 500) logger.error({ err: error, ...context }, 'request failed');
  const detail = status === 500 ? 'internal error' : messageOf(error);
  // A 503 is always "come back later": one that names no time gets the dependency default.
  const retryAfter =
    (error as { retryAfterSeconds?: number } | null)?.retryAfterSeconds ??
    (status === 503 ? DEPENDENCY_RETRY_AFTER_SECONDS : undefined);
  return retryAfter === undefined
    ? { status, detail }
    : { status, detail, retryAfterSeconds: retryAfter };
}

/**
 * The one place errors become HTTP answers for Fastify routes (the Nest filter below, and routes
 * registered on Fastify directly for speed).
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  logger: Logger,
): void {
  const { status, detail, retryAfterSeconds } = errorAnswerOf(error, logger, {
    requestId: request.id,
    url: request.url,
  });
  // Readiness answers carry their own body (which checks failed).
  if (error instanceof HttpException && request.url === '/readyz') {
    void reply.status(status).send(error.getResponse());
    return;
  }
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  if (usesInferenceErrorShape(request.url)) {
    void reply.status(status).header('content-type', 'application/json').send({ error: detail });
    return;
  }
  void reply
    .status(status)
    .header('content-type', 'application/problem+json')
    .send(problemOf(error, status, detail, request.url, request.id));
}

/** The problem+json body of an error answer (RFC 9457). */
function problemOf(error: unknown, status: number, detail: string, url: string, requestId: string) {
  return {
    type: `https://maas.dev/problems/${problemTypeOf(error) ?? (TITLES[status] ?? 'error').toLowerCase().replace(/\s+/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: pathOf(url),
    requestId,
  };
}

/**
 * sendError for a request answered on the raw Node response, ahead of Fastify's router (a
 * refusal that must cost as little as possible): the same problem+json, status and Retry-After.
 * Returns the status sent.
 */
export function sendRawError(
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  error: unknown,
  logger: Logger,
): number {
  const url = request.url ?? '/';
  const { status, detail, retryAfterSeconds } = errorAnswerOf(error, logger, { requestId, url });
  const body = JSON.stringify(problemOf(error, status, detail, url, requestId));
  response.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    ...(retryAfterSeconds !== undefined && { 'retry-after': String(retryAfterSeconds) }),
  });
  response.end(body);
  return status;
}

@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(
      http.getRequest<FastifyRequest>(),
      http.getResponse<FastifyReply>(),
      error,
      this.logger,
    );
  }
}
