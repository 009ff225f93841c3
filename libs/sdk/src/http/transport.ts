import { MaasApiError, MaasNetworkError, parseRetryAfterSeconds } from '../errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs, sleep } from './retry.js';
import {
  type ApiPath,
  type ApiRequest,
  buildPath,
  type HttpMethod,
  type Operation,
  type SuccessJson,
} from './typed-paths.js';

/** What a request body can be on the wire (what `fetch` takes and every runtime supports). */
export type WireBody = string | Uint8Array | Blob | ReadableStream<Uint8Array>;

/** The subset of `fetch` the client needs (inject one for proxies, tracing or tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Which credential a route takes. */
export type Credential = 'tenant' | 'admin' | 'none';

export interface RetryEvent {
  method: string;
  url: string;
  /** The attempt that was refused (1 = the first try). */
  attempt: number;
  /** The refusal's status, or undefined when the request got no answer. */
  status?: number;
  /** What the gateway asked for (`Retry-After`), in seconds. */
  retryAfterSeconds?: number;
  delayMs: number;
  requestId: string;
}

export interface ResponseEvent {
  method: string;
  url: string;
  status: number;
  attempt: number;
  requestId: string;
  durationMs: number;
}

export interface TransportOptions {
  /** The gateway, e.g. `http://127.0.0.1:3000` (a trailing slash is fine). */
  baseUrl: string;
  /** A tenant API key: sent as `x-api-key` on tenant routes. */
  apiKey?: string;
  /** A bearer token: a platform admin's (for `/api/admin`) or a tenant member's. */
  accessToken?: string;
  fetch?: FetchLike;
  /** Retries of refused requests (429, 503); `false` turns them off. */
  retry?: Partial<RetryPolicy> | false;
  /** Headers sent with every request (e.g. a `user-agent`). */
  headers?: Record<string, string>;
  /** Called before each retry wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Called with every answer, retries included (logging, request-id tracing). */
  onResponse?: (event: ResponseEvent) => void;
}

export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/api/models?limit=10`. */
  path: string;
  headers?: Record<string, string>;
  /** Makes the body for one attempt (called again for a retry). */
  body?: () => WireBody | Promise<WireBody>;
  /**
   * The body can be sent again. False for a caller's one-shot stream: such a request is never
   * retried, since its bytes are gone after the first try.
   */
  replayable?: boolean;
  credential?: Credential;
  signal?: AbortSignal;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** A fresh id per call, sent as `x-request-id` (the gateway keeps a sane caller's id). */
export function newRequestId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/**
 * One client's HTTP: the base URL and credentials, request ids, retries of refused requests
 * with backoff honouring `Retry-After`, and error answers turned into `MaasApiError`.
 */
export class Transport {
  readonly baseUrl: string;
  apiKey?: string;
  accessToken?: string;
  private readonly fetchImpl: FetchLike;
  private readonly policy: RetryPolicy;
  private readonly defaultHeaders: Record<string, string>;
  private readonly onRetry?: (event: RetryEvent) => void;
  private readonly onResponse?: (event: ResponseEvent) => void;

  constructor(options: TransportOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) {
      throw new TypeError(`baseUrl must be an http(s) URL, got '${options.baseUrl}'`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.accessToken = options.accessToken;
    // Bound so that a browser's window.fetch is not called with the client as `this`.
    this.fetchImpl = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.policy =
      options.retry === false
        ? { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 }
        : { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.defaultHeaders = { ...options.headers };
    this.onRetry = options.onRetry;
    this.onResponse = options.onResponse;
  }

  private credentialHeaders(credential: Credential): Record<string, string> {
    if (credential === 'tenant' && this.apiKey) return { 'x-api-key': this.apiKey };
    if (credential !== 'none' && this.accessToken) {
      return { authorization: `Bearer ${this.accessToken}` };
    }
    return {};
  }

  /**
   * Sends a request and answers the final response, whatever its status: refused ones (429,
   * 503) are retried while the policy allows and the body can be sent again. A request that
   * got no answer is retried only when its method is idempotent.
   */
  async send(request: RawRequest): Promise<Response> {
    const method = request.method.toUpperCase();
    const url = `${this.baseUrl}${request.path}`;
    const requestId = request.headers?.['x-request-id'] ?? newRequestId();
    const headers = {
      ...this.defaultHeaders,
      ...this.credentialHeaders(request.credential ?? 'tenant'),
      'x-request-id': requestId,
      ...request.headers,
    };
    const replayable = request.replayable ?? true;
    for (let attempt = 1; ; attempt += 1) {
      const body = await request.body?.();
      const init: RequestInit & { duplex?: 'half' } = {
        method,
        headers,
        body: body as RequestInit['body'],
        signal: request.signal,
      };
      // fetch sends a stream body only when told it is half-duplex (Node, Chromium).
      if (body instanceof ReadableStream) init.duplex = 'half';
      const started = Date.now();
      let response: Response;
      try {
        response = await this.fetchImpl(url, init);
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason ?? error;
        const delayMs =
          IDEMPOTENT.has(method) && replayable
            ? retryDelayMs(this.policy, attempt, undefined)
            : undefined;
        if (delayMs === undefined) throw new MaasNetworkError(method, url, requestId, error);
        this.onRetry?.({ method, url, attempt, delayMs, requestId });
        await sleep(delayMs, request.signal);
        continue;
      }
      const answeredId = response.headers.get('x-request-id') ?? requestId;
      this.onResponse?.({
        method,
        url,
        status: response.status,
        attempt,
        requestId: answeredId,
        durationMs: Date.now() - started,
      });
      if (!this.policy.statuses.includes(response.status) || !replayable) return response;
      const retryAfterSeconds = parseRetryAfterSeconds(response.headers.get('retry-after'));
      const delayMs = retryDelayMs(this.policy, attempt, retryAfterSeconds);
      if (delayMs === undefined) return response;
      // The refusal's body is not needed; releasing it frees the connection for the retry.
      await response.body?.cancel().catch(() => undefined);
      this.onRetry?.({
        method,
        url,
        attempt,
        status: response.status,
        retryAfterSeconds,
        delayMs,
        requestId: answeredId,
      });
      await sleep(delayMs, request.signal);
    }
  }

  /** Sends and answers the response when it is a success, else throws `MaasApiError`. */
  async sendOk(request: RawRequest): Promise<Response> {
    const response = await this.send(request);
    if (response.ok) return response;
    throw await MaasApiError.fromResponse(response, {
      method: request.method.toUpperCase(),
      url: `${this.baseUrl}${request.path}`,
    });
  }

  /** Sends and reads a JSON answer (undefined for 204 or an empty body). */
  async json<T>(request: RawRequest): Promise<T> {
    const response = await this.sendOk(request);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A typed call of a route of the OpenAPI document: path parameters, query and JSON body are
   * checked against the generated types, and so is the answer.
   */
  call<P extends ApiPath, M extends HttpMethod>(
    method: M,
    template: P,
    request: ApiRequest<Operation<P, M>>,
    credential: Credential = 'tenant',
  ): Promise<SuccessJson<Operation<P, M>>> {
    const { path, query, body, signal, headers } = request as {
      path?: Record<string, string | number>;
      query?: Record<string, unknown>;
      body?: unknown;
      signal?: AbortSignal;
      headers?: Record<string, string>;
    };
    const text = body === undefined ? undefined : JSON.stringify(body);
    return this.json({
      method,
      path: buildPath(template, path, query),
      headers: {
        accept: 'application/json',
        ...(text !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      body: text === undefined ? undefined : () => text,
      credential,
      signal,
    });
  }
}
