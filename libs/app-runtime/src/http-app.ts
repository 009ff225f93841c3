import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { ProxyTrust } from './client-ip.js';
import { AppExceptionFilter } from './exception.filter.js';
import { type AccessLine, PinoNestLogger, writeAccessLine } from './logger.js';
import { HttpMetrics } from './metrics.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's address (ProxyTrust: the first untrusted hop of X-Forwarded-For). */
    clientIp: string;
  }
}

/** Takes the caller's x-request-id when it is sane, else makes one. */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/** One answered request, as the request log (its line) and the HTTP metrics record it. */
export type AnsweredRequest = AccessLine;

/**
 * Counts and times an answered request and writes its line to the app's access log (every app,
 * every route; buffered, see accessLogOf).
 */
export function recordRequest(
  metrics: HttpMetrics,
  logger: Logger,
  answered: AnsweredRequest,
): void {
  const { method, route, status, durationMs } = answered;
  metrics.requests.inc({ method, route, status: String(status) });
  metrics.duration.observe({ method, route }, durationMs / 1000);
  writeAccessLine(logger, { ...answered, durationMs: Math.round(durationMs * 100) / 100 });
}

/** Servers whose app is closing: intercepted requests go to Fastify, which answers 503. */
const closingServers = new WeakSet<Server>();

/**
 * Takes a request ahead of the router (true), or leaves it to the router (false). One that takes
 * it may still hand it on later with `next` (after an asynchronous check, say).
 */
/** Marks a 'request' listener that must see every request, even those a hot path answers. */
const OBSERVES_EVERY_REQUEST = Symbol('observes every request');

export type RequestInterceptor = (
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
) => boolean;

/**
 * Puts `intercept` ahead of Fastify's router on an app's HTTP server, for a hot path that needs
 * none of what the router adds per request (routing, hooks, content-type parsing, reply
 * serialisation): it answers on the raw request and response, and must itself do what the
 * hooks do for every other route (x-request-id, recordRequest). Requests it declines, and all
 * requests once the app is closing, go to Fastify as before.
 */
export function interceptRequests(server: Server, intercept: RequestInterceptor): void {
  const listeners = server.listeners('request') as RequestInterceptor[];
  // Observers (cutIdleConnections) keep seeing every request, the intercepted ones included.
  const observers = listeners.filter((listener) => OBSERVES_EVERY_REQUEST in listener);
  const routers = listeners.filter((listener) => !(OBSERVES_EVERY_REQUEST in listener));
  server.removeAllListeners('request');
  for (const observer of observers) server.on('request', observer);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const next = () => {
      for (const route of routers) route(request, response, next);
    };
    if (!closingServers.has(server) && intercept(request, response, next)) return;
    next();
  });
}

/**
 * A request answered before its body arrived (a refusal: 401, 413, 429 on an upload or an
 * inference call) leaves the rest of the body owed. Node then reads and discards it to keep the
 * connection, waiting up to the keep-alive timeout (72 s) — so a client that never sends it
 * (slowloris) holds the socket that long per request. Here such a connection waits `lingerMs`
 * for more bytes instead, then is cut by the server's 'timeout' listener; a client that does
 * send the rest keeps its connection, and its keep-alive timeout, as before.
 */
export function lingerOnOwedBodies(
  server: Server,
  options: { lingerMs: number; keepAliveMs: number },
): void {
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!('content-length' in request.headers) && !('transfer-encoding' in request.headers)) {
      return;
    }
    response.once('finish', () => {
      // (Node's own 'finish' listener ran first and armed the keep-alive timeout.)
      if (request.complete || request.socket.destroyed) return;
      const socket = request.socket;
      socket.setTimeout(options.lingerMs);
      request.once('end', () => {
        if (!socket.destroyed) socket.setTimeout(options.keepAliveMs);
      });
    });
  });
}

/**
 * Closes connections silent both ways for `idleMs` (Node's socket timeout, set by Fastify's
 * connectionTimeout). Node destroys such a socket only when nothing else listens for its
 * 'timeout' (a request stream being consumed can), so this says it outright: a stalled upload,
 * a client that stops reading its answer and an idle keep-alive connection are cut alike.
 * Silence while the server owes the answer to a request it received whole is not the client's:
 * that connection is kept (the server's own deadlines bound the wait: a worker's answer, a
 * handler's I/O), up to `owedAnswerMs` from the request. Cutting it had the client's request
 * ended by a closed socket with no answer (a large inference computing past the idle timeout).
 */
export function cutIdleConnections(
  server: Server,
  options: { idleMs: number; owedAnswerMs: number },
): void {
  const owed = new WeakMap<Socket, { response: ServerResponse; since: number }>();
  const track = (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const entry = { response, since: performance.now() };
    owed.set(socket, entry);
    const settled = () => {
      if (owed.get(socket) === entry) owed.delete(socket);
    };
    response.once('finish', settled).once('close', settled);
  };
  // (Kept by interceptRequests: a hot path's requests are owed answers too.)
  server.prependListener('request', Object.assign(track, { [OBSERVES_EVERY_REQUEST]: true }));
  server.on('timeout', (socket: Socket) => {
    const entry = owed.get(socket);
    if (
      entry !== undefined &&
      entry.response.req.complete &&
      !entry.response.headersSent &&
      performance.now() - entry.since < options.owedAnswerMs
    ) {
      // Re-armed: the answer, once it comes, or the client's silence after it, decides.
      socket.setTimeout(options.idleMs);
      return;
    }
    socket.destroy();
  });
}

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit?: number;
  /**
   * Trusted proxies (TRUST_PROXY, parsed): who may say, in X-Forwarded-For, which client a
   * request comes from. Sets Fastify's `trustProxy` and `request.clientIp`; none by default.
   */
  trustProxy?: readonly string[];
  /**
   * Slow clients (slowloris) hold no socket for ever: the request line and headers must arrive
   * within `headersMs`, the whole request (body included) within `requestMs`, and a connection
   * with no bytes either way for `idleMs` is closed. Defaults 15 s, 10 min, 2 min.
   */
  timeouts?: {
    headersMs?: number;
    requestMs?: number;
    idleMs?: number;
    keepAliveMs?: number;
    /** How long a connection answered before its request body arrived waits for the rest. */
    lingerMs?: number;
  };
  /** How long SIGTERM waits for in-flight requests before cutting connections. */
  drainTimeoutMs?: number;
  /** Other listeners to drain alongside HTTP (e.g. the worker link); modules close after both. */
  drain?: (app: NestFastifyApplication) => Promise<void>;
  /** App-specific draining (e.g. running jobs) after HTTP stops and before modules close. */
  beforeClose?: (app: NestFastifyApplication) => Promise<void>;
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
  const proxies = new ProxyTrust(options.trustProxy ?? []);
  const adapter = new FastifyAdapter({
    logger: false,
    // The same list and matcher as request.clientIp (and the gateway's hot path), so
    // request.ip, protocol and host agree with it.
    ...(proxies.enabled ? { trustProxy: (address: string) => proxies.trusts(address) } : {}),
    requestIdHeader: false,
    genReqId: requestIdFor,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    requestTimeout: options.timeouts?.requestMs ?? 600_000,
    connectionTimeout: options.timeouts?.idleMs ?? 120_000,
    // Also how long a connection whose request was answered before its body arrived is kept.
    keepAliveTimeout: options.timeouts?.keepAliveMs ?? 72_000,
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
  // (Node enforces it on its connection sweep, every 30 s: a slow client is cut within
  // headersMs + 30 s.)
  fastify.server.headersTimeout = options.timeouts?.headersMs ?? 15_000;
  cutIdleConnections(fastify.server, {
    idleMs: options.timeouts?.idleMs ?? 120_000,
    owedAnswerMs: options.timeouts?.requestMs ?? 600_000,
  });
  fastify.decorateRequest('clientIp', '');
  fastify.addHook('onRequest', (request, reply, done) => {
    request.clientIp = proxies.of(request.raw);
    reply.header('x-request-id', request.id);
    done();
  });
  lingerOnOwedBodies(fastify.server, {
    lingerMs: options.timeouts?.lingerMs ?? 2_000,
    keepAliveMs: options.timeouts?.keepAliveMs ?? 72_000,
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    recordRequest(metrics, options.logger, {
      requestId: request.id,
      method: request.method,
      url: request.url,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
    });
    done();
  });
  drainOnSignals(app, options);
  return app;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting connections, let in-flight requests
 * finish (idle keep-alive connections are closed as they go idle), and only then run Nest's
 * shutdown (module destroy hooks close Prisma, Redis, HTTP clients, BullMQ workers).
 * Nest's own shutdown hooks would destroy modules before the server stops taking requests.
 */
function drainOnSignals(app: NestFastifyApplication, options: HttpAppOptions): void {
  const { logger } = options;
  const timeoutMs = options.drainTimeoutMs ?? 25_000;
  let draining = false;
  const drain = (signal: NodeJS.Signals) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining: no new connections, finishing in-flight requests');
    const server = app.getHttpServer() as import('node:http').Server;
    const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
    const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const otherClosed = Promise.race([
      options.drain?.(app),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]).catch((error: unknown) => logger.error({ err: error }, 'draining failed'));
    void Promise.all([httpClosed, otherClosed])
      .then(() => {
        clearInterval(idleSweep);
        clearTimeout(deadline);
        return options.beforeClose?.(app);
      })
      .catch((error: unknown) => logger.error({ err: error }, 'draining failed'))
      .then(() => {
        closingServers.add(server);
        return app.close();
      })
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', drain);
  process.once('SIGINT', drain);
}
