/**
 * Domain errors carry a code; the exception filter maps codes to HTTP statuses. Libs that must
 * stay free of Nest (tensors, model-registry) define their own error classes with the same
 * `code` convention, and the filter reads any such error the same way.
 */
export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_MODEL: 422,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const invalidArgument = (message: string) => new DomainError('INVALID_ARGUMENT', message);

/**
 * PostgreSQL's message when `error` is a data exception (SQLSTATE class 22: a NUL byte or an
 * invalid escape in a string, a malformed uuid, a number out of range) that Prisma passed on
 * from its driver adapter: a value the request carried that the database refuses, so a 400 and
 * never a 500. Undefined for any other error.
 */
export function databaseDataErrorOf(error: unknown): string | undefined {
  const cause = (
    error as {
      meta?: {
        driverAdapterError?: { cause?: { originalCode?: unknown; originalMessage?: unknown } };
      };
    } | null
  )?.meta?.driverAdapterError?.cause;
  if (typeof cause?.originalCode !== 'string' || !cause.originalCode.startsWith('22')) {
    return undefined;
  }
  return typeof cause.originalMessage === 'string' ? cause.originalMessage : 'invalid value';
}

/** The HTTP status for anything thrown: a coded error, an HTTP error, or a bug (500). */
export function statusOf(error: unknown): number {
  if (typeof error === 'object' && error !== null) {
    if (databaseDataErrorOf(error) !== undefined) return 400;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code in ERROR_STATUS) return ERROR_STATUS[code as ErrorCode];
    // Fastify's own errors (bad JSON, body too large, bad media type) carry a 4xx statusCode.
    const statusCode = (error as { statusCode?: unknown; status?: unknown }).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 600) return statusCode;
    const getStatus = (error as { getStatus?: () => number }).getStatus;
    if (typeof getStatus === 'function') return getStatus.call(error);
  }
  return 500;
}
