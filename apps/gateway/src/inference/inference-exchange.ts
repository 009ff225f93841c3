import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { requestIdFor } from '@maas/app-runtime';
import type { Principal } from '../auth/principal.js';

/**
 * One inference request and its answer on the raw Node request and response: the hot path runs
 * ahead of Fastify's router (InferenceHotPath), so this is its request and reply. It buffers the
 * status and headers and writes them once, with the body, when `send` is called.
 */
export class InferenceExchange {
  readonly id: string;
  /** The route template, for metrics and logs (as Fastify would name it). */
  readonly route: string;
  /** Who sent it (ProxyTrust, as Fastify routes' request.clientIp); set by InferenceHotPath. */
  clientIp = 'unknown';
  principal?: Principal;
  statusCode = 200;
  private readonly started = performance.now();
  private readonly answerHeaders: Record<string, string> = {};
  private doneCallbacks?: (() => void)[];

  constructor(
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    route: string,
  ) {
    this.id = requestIdFor(request);
    this.route = route;
    this.answerHeaders['x-request-id'] = this.id;
  }

  /** The request's headers. */
  get headers(): IncomingHttpHeaders {
    return this.request.headers;
  }

  get url(): string {
    return this.request.url ?? '/';
  }

  /** Milliseconds since the request reached the gateway. */
  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Whether the answer has been handed to the response (it may still be streaming). */
  get sent(): boolean {
    return this.response.headersSent;
  }

  /**
   * Calls `callback` once: when the answer is fully sent, or the connection closes first.
   * Callbacks run in the order they were given, all from one pair of listeners.
   */
  onDone(callback: () => void): void {
    if (this.doneCallbacks !== undefined) {
      this.doneCallbacks.push(callback);
      return;
    }
    const callbacks = (this.doneCallbacks = [callback]);
    let called = false;
    const done = () => {
      if (called) return;
      called = true;
      for (const each of callbacks) each();
    };
    this.response.once('finish', done).once('close', done);
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: string): this {
    this.answerHeaders[name] = value;
    return this;
  }

  /** Writes status, headers and body; a stream is piped (and destroyed if the client leaves). */
  send(body: Buffer | Readable): void {
    if (Buffer.isBuffer(body)) {
      this.answerHeaders['content-length'] = String(body.length);
      this.response.writeHead(this.statusCode, this.answerHeaders);
      this.response.end(body);
      return;
    }
    this.response.writeHead(this.statusCode, this.answerHeaders);
    pipeline(body, this.response, () => undefined);
  }
}
