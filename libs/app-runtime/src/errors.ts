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
  /** The resource exists but is not in a state (or of a kind) the request needs. */
  FAILED_PRECONDITION: 409,
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
    // A refusal of a client's request (a 4xx) is an answer, not a bug: no stack trace is
    // captured for it (most of what creating one costs, paid per refused request in a flood).
    const limit = Error.stackTraceLimit;
    if (ERROR_STATUS[code] < 500) Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
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
    if (dependencyUnavailableOf(error) !== undefined) return 503;
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

/** A dependency the app could not reach. */
export type Dependency = 'database' | 'redis';

/** Seconds a client is told to wait (Retry-After) when a dependency is unreachable. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

// Prisma's codes for "the server is not there" (not for a query it refused): can't reach,
// timed out, server closed the connection, pool timeout.
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// The pg driver adapter's error kinds for the same.
const ADAPTER_UNREACHABLE = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'DatabaseDoesNotExist',
]);
// PostgreSQL's own: admin shutdown, crash shutdown, cannot connect now.
const POSTGRES_SHUTDOWN = new Set(['57P01', '57P02', '57P03']);

/** Counted by dependency; metrics.ts exposes them as maas_dependency_errors_total. */
export const dependencyErrorCounts: Record<Dependency, number> = { database: 0, redis: 0 };

/**
 * Which dependency `error` says is unreachable (PostgreSQL through Prisma or pg, Redis through
 * ioredis), or undefined when it is any other error. Such an error answers 503 with
 * Retry-After, never 500: the request was fine, a dependency was away.
 */
export function dependencyUnavailableOf(error: unknown): Dependency | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    name?: unknown;
    code?: unknown;
    errorCode?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } };
  };
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (name.startsWith('PrismaClient') || name === 'DriverAdapterError') {
    const code = typeof e.code === 'string' ? e.code : e.errorCode;
    const cause = e.meta?.driverAdapterError?.cause ?? (e.cause as { kind?: unknown } | undefined);
    if (
      (typeof code === 'string' && PRISMA_UNREACHABLE.has(code)) ||
      (typeof cause?.kind === 'string' && ADAPTER_UNREACHABLE.has(cause.kind)) ||
      name === 'PrismaClientInitializationError' ||
      /can't reach database server|connection (terminated|closed)|server closed the connection/i.test(
        message,
      )
    ) {
      return 'database';
    }
    const original = (cause as { originalCode?: unknown } | undefined)?.originalCode;
    if (typeof original === 'string' && POSTGRES_SHUTDOWN.has(original)) return 'database';
    return undefined;
  }
  if (
    name === 'MaxRetriesPerRequestError' ||
    /^(Connection is closed|Stream isn't writeable)/.test(message)
  ) {
    return 'redis';
  }
  if (typeof e.code === 'string' && POSTGRES_SHUTDOWN.has(e.code)) return 'database';
  if (/^Connection terminated/.test(message)) return 'database';
  return undefined;
}
