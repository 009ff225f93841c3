import { createServer, type Server, type Socket } from 'node:net';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_LOGGER, DomainError, errorAnswerOf, type Logger } from '@maas/app-runtime';
import {
  acceptLinkHandshake,
  callOf,
  type Frame,
  FrameKind,
  frameHead,
  type LinkRequestKind,
  type LinkRequestMeta,
  type LinkResponseMeta,
  MAX_LINK_BODY_BYTES,
  parseMeta,
  readFrames,
  writeFrame,
} from '@maas/worker-link';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { AnswerTooLargeError } from './answer-size.js';
import { headerLengthOf } from './worker-inference.routes.js';
import { InferenceMetrics } from './inference.metrics.js';
import { InferenceService, type ServedResponse } from './inference.service.js';

/**
 * Answers buffered for a gateway beyond this stop the worker reading that connection's requests
 * until they drain: a gateway that does not read its answers gets no more work taken on for it.
 */
const PAUSE_READING_BYTES = 64 * 1024 * 1024;

function requestOf(frame: Frame): LinkRequestMeta {
  const meta = parseMeta<LinkRequestMeta>(frame);
  if (typeof meta.tenant !== 'string' || !meta.tenant || typeof meta.model !== 'string') {
    throw new DomainError('INVALID_ARGUMENT', 'link request names no tenant or model');
  }
  if (!Number.isInteger(meta.version) || meta.version < 1) {
    throw new DomainError('INVALID_ARGUMENT', 'version must be a positive integer');
  }
  return meta;
}

/**
 * The worker's end of the worker link (`@maas/worker-link` link-frames): the gateway's inference
 * requests arrive as frames on a few persistent connections and are answered as they finish,
 * in any order, by the same InferenceService the HTTP routes use. A connection carries frames
 * only once the gateway proved WORKER_SECRET (link-handshake.ts); until then not one byte is
 * read as a frame. On SIGTERM it drains: new requests are refused (the gateway sends them to
 * another worker) while those in flight finish.
 */
@Injectable()
export class WorkerLinkServer implements OnModuleInit, OnApplicationShutdown {
  private readonly server: Server = createServer((socket) => this.accept(socket));
  private readonly sockets = new Set<Socket>();
  private inFlight = 0;
  private draining = false;
  private drained?: () => void;
  private boundPort = 0;

  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    private readonly inference: InferenceService,
    private readonly metrics: InferenceMetrics,
  ) {}

  /** The port the link listens on (LINK_PORT, or the one the system chose for 0). */
  get port(): number {
    return this.boundPort;
  }

  /** Whether it takes new connections (false before start and once draining). */
  get listening(): boolean {
    return this.server.listening;
  }

  async onModuleInit(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.LINK_PORT, this.config.HOST, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as { port: number }).port;
    this.logger.info({ port: this.boundPort }, 'worker link listening');
  }

  /** Refuses new requests and resolves once every request in flight is answered. */
  drain(): Promise<void> {
    this.draining = true;
    this.server.close();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  async onApplicationShutdown(): Promise<void> {
    this.draining = true;
    for (const socket of this.sockets) socket.end();
    if (this.server.listening) await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.sockets.add(socket);
    let authenticated = false;
    socket.on('error', () => undefined); // a gateway that went away: 'close' follows
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (authenticated) this.metrics.linkConnections.dec();
    });
    acceptLinkHandshake(socket, this.config.WORKER_SECRET, (error) => {
      if (error) {
        // Closed already: whatever it sent was never read as a frame.
        this.metrics.authFailures.inc({ transport: 'link', reason: error.reason });
        this.logger.warn(
          { remote: socket.remoteAddress, reason: error.reason },
          'worker link handshake failed',
        );
        return;
      }
      authenticated = true;
      this.metrics.linkConnections.inc();
      readFrames(
        socket,
        (frame) => this.serve(socket, frame),
        (corrupt) =>
          this.logger.warn({ err: corrupt, remote: socket.remoteAddress }, 'corrupt link stream'),
      );
    });
  }

  private serve(socket: Socket, frame: Frame): void {
    if (this.draining) {
      writeFrame(socket, frameHead(frame.id, FrameKind.refused, {}, 0));
      return;
    }
    const call = callOf(frame.kind);
    const started = performance.now();
    this.inFlight++;
    const context: { request?: LinkRequestMeta } = {};
    void this.answer(call, frame, context).then(({ meta, body }) => {
      writeFrame(socket, frameHead(frame.id, FrameKind.response, meta, body.length), body);
      if (socket.writableLength > PAUSE_READING_BYTES && !socket.isPaused()) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
      const ms = performance.now() - started;
      const label = call ?? 'unknown';
      this.metrics.linkRequests.inc({ call: label, status: String(meta.status) });
      this.metrics.linkSeconds.observe({ call: label }, ms / 1000);
      // At debug: the gateway's access log has the request's line (same request id); the
      // worker's metrics count and time every call.
      this.logger.debug(
        {
          requestId: context.request?.requestId,
          call: label,
          model: context.request?.model,
          version: context.request?.version,
          status: meta.status,
          durationMs: Math.round(ms * 100) / 100,
        },
        'request',
      );
      if (--this.inFlight === 0) this.drained?.();
    });
  }

  private async answer(
    call: LinkRequestKind | undefined,
    frame: Frame,
    context: { request?: LinkRequestMeta },
  ): Promise<{ meta: LinkResponseMeta; body: Buffer }> {
    try {
      if (!call) throw new DomainError('INVALID_ARGUMENT', `unknown link frame kind ${frame.kind}`);
      const request = (context.request = requestOf(frame));
      if (call === 'load') {
        await this.inference.preload(request.tenant, request.model, request.version);
        return { meta: { status: 204, contentType: 'application/json' }, body: Buffer.alloc(0) };
      }
      const served: ServedResponse =
        call === 'infer'
          ? await this.inference.infer(
              request.tenant,
              request.model,
              request.version,
              frame.body,
              headerLengthOf(request.headerLength),
            )
          : await this.inference.predict(
              request.tenant,
              request.model,
              request.version,
              frame.body,
            );
      // MAX_RESPONSE_BYTES stops larger answers first; this one is never allowed to make a
      // frame the gateway must refuse, which would drop every request on the connection.
      if (served.body.length > MAX_LINK_BODY_BYTES) {
        throw new AnswerTooLargeError(served.body.length, MAX_LINK_BODY_BYTES);
      }
      return {
        meta: {
          status: 200,
          contentType: served.contentType,
          headerLength: served.headerLength,
          rows: served.rows,
          batchRows: served.batchRows,
        },
        body: served.body,
      };
    } catch (error) {
      const { status, detail, retryAfterSeconds } = errorAnswerOf(error, this.logger, {
        requestId: context.request?.requestId,
        call,
      });
      return {
        meta: {
          status,
          contentType: 'application/json',
          retryAfter: retryAfterSeconds === undefined ? undefined : String(retryAfterSeconds),
        },
        body: Buffer.from(JSON.stringify({ error: detail })),
      };
    }
  }
}
