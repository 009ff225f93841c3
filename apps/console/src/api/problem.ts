/**
 * An error answer from the gateway, made readable. `/api` answers RFC 9457 problem details
 * (`{type, title, status, detail, requestId}`); `/v1` and `/v2` answer `{"error": "..."}`; a
 * proxy or a crash may answer anything else, which is shown by its status alone.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly type: string | undefined,
    readonly requestId: string | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(detail && detail !== title ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
  }

  /** The problem's slug (`rate-limit-exceeded`, `not-found`, …), when the gateway named one. */
  get slug(): string | undefined {
    return this.type?.split('/').pop();
  }
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  415: 'Unsupported media type',
  422: 'Not a valid model',
  429: 'Too many requests',
  500: 'Server error',
  502: 'Bad answer from a worker',
  503: 'Service unavailable',
  504: 'Timed out',
};

interface ErrorAnswer {
  status: number;
  contentType: string | null;
  body: string;
  requestId: string | null;
  retryAfter: string | null;
}

/** Builds the ApiError for an answer that was not 2xx, whatever its body. */
export function apiErrorOf(answer: ErrorAnswer): ApiError {
  const fallbackTitle = STATUS_TITLES[answer.status] ?? `HTTP ${answer.status}`;
  const retry = answer.retryAfter !== null ? Number(answer.retryAfter) : NaN;
  const retryAfter = Number.isFinite(retry) ? retry : undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object') {
    const p = parsed as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    if (text(p.title) !== undefined || text(p.detail) !== undefined) {
      return new ApiError(
        answer.status,
        text(p.title) ?? fallbackTitle,
        text(p.detail) ?? '',
        text(p.type),
        text(p.requestId) ?? answer.requestId ?? undefined,
        retryAfter,
      );
    }
    if (text(p.error) !== undefined) {
      return new ApiError(
        answer.status,
        fallbackTitle,
        text(p.error)!,
        undefined,
        answer.requestId ?? undefined,
        retryAfter,
      );
    }
  }
  return new ApiError(
    answer.status,
    fallbackTitle,
    answer.status >= 500 ? 'the gateway could not answer; try again' : '',
    undefined,
    answer.requestId ?? undefined,
    retryAfter,
  );
}

/** Any thrown value as one readable sentence (network failures included). */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    const retry =
      error.retryAfterSeconds !== undefined ? ` (retry in ${error.retryAfterSeconds} s)` : '';
    return `${error.message}${retry}`;
  }
  if (error instanceof TypeError) return 'The gateway could not be reached (network error).';
  if (error instanceof Error) return error.message;
  return String(error);
}
