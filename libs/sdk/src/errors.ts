/** The gateway's RFC 9457 problem details (`application/problem+json`) on `/api` routes. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

const ABOUT_BLANK = 'about:blank';

/**
 * A request the platform answered with an error status. `/api` routes answer problem details;
 * `/v1` and `/v2` answer `{"error": "…"}` as TF Serving and Triton clients expect: both end up
 * here with the same fields, so callers branch on `status` and `type` alone.
 */
export class MaasApiError extends Error {
  override readonly name = 'MaasApiError';
  readonly status: number;
  /** `https://maas.dev/problems/<slug>` on `/api`, `about:blank` where the route has none. */
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly instance?: string;
  /** The gateway's id for the request (`x-request-id`): quote it when asking the operators. */
  readonly requestId?: string;
  /** Seconds the gateway asked to wait (`Retry-After`), when it said. */
  readonly retryAfterSeconds?: number;
  readonly method: string;
  readonly url: string;
  /** The parsed error body as it came (problem details, `{error}`, or the text). */
  readonly body: unknown;

  constructor(init: {
    status: number;
    type?: string;
    title: string;
    detail: string;
    instance?: string;
    requestId?: string;
    retryAfterSeconds?: number;
    method: string;
    url: string;
    body?: unknown;
  }) {
    super(`${init.status} ${init.title}: ${init.detail}`);
    this.status = init.status;
    this.type = init.type ?? ABOUT_BLANK;
    this.title = init.title;
    this.detail = init.detail;
    this.instance = init.instance;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.method = init.method;
    this.url = init.url;
    this.body = init.body;
  }

  /** The problem-type slug (`rate-limit-exceeded`, `not-found`, …), or undefined. */
  get slug(): string | undefined {
    const match = /\/problems\/([^/?#]+)$/.exec(this.type);
    return match?.[1];
  }

  /** Reads an error answer (consuming its body). */
  static async fromResponse(
    response: Response,
    request: { method: string; url: string },
  ): Promise<MaasApiError> {
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's HTML page, a truncated answer): keep the text as the detail.
    }
    const headerId = response.headers.get('x-request-id') ?? undefined;
    const retryAfter = parseRetryAfterSeconds(response.headers.get('retry-after'));
    const statusText = response.statusText || `HTTP ${response.status}`;
    if (isProblem(body)) {
      return new MaasApiError({
        status: response.status,
        type: body.type,
        title: body.title,
        detail: typeof body.detail === 'string' ? body.detail : body.title,
        instance: typeof body.instance === 'string' ? body.instance : undefined,
        requestId: typeof body.requestId === 'string' ? body.requestId : headerId,
        retryAfterSeconds: retryAfter,
        method: request.method,
        url: request.url,
        body,
      });
    }
    const message =
      body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
        ? (body as { error: string }).error
        : typeof body === 'string' && body
          ? body.slice(0, 500)
          : statusText;
    return new MaasApiError({
      status: response.status,
      title: statusText,
      detail: message,
      requestId: headerId,
      retryAfterSeconds: retryAfter,
      method: request.method,
      url: request.url,
      body,
    });
  }
}

/** The request never got an answer (refused connection, DNS, reset, timeout). */
export class MaasNetworkError extends Error {
  override readonly name = 'MaasNetworkError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly requestId: string,
    cause: unknown,
  ) {
    super(`${method} ${url}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

function isProblem(body: unknown): body is ProblemDetails {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ProblemDetails).title === 'string' &&
    typeof (body as ProblemDetails).status === 'number'
  );
}

/**
 * `Retry-After` as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Undefined when
 * absent or unreadable, never negative.
 */
export function parseRetryAfterSeconds(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
