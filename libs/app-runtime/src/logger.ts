import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';

// Anything that can carry a credential is redacted wherever it appears in a log object.
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
];

/** The app's JSON logger (createLogger), as Nest injects it: `@Inject(APP_LOGGER) logger: Logger`. */
export const APP_LOGGER = Symbol('APP_LOGGER');

/**
 * The access log (one line per answered request) is written through a buffer: lines are
 * gathered up to ACCESS_LOG_BUFFER_BYTES and written off the event loop, and a buffer that
 * does not fill is written ACCESS_LOG_FLUSH_MS after its first line (no timer runs while
 * nothing is logged), and synchronously on exit. A synchronous write per request cost the
 * gateway and worker a system call each under load. Trade-off: a process killed with SIGKILL
 * (or by the OOM killer) loses at most the last ACCESS_LOG_FLUSH_MS of request lines; every
 * other log line is still written as it is logged.
 */
export const ACCESS_LOG_FLUSH_MS = 100;
const ACCESS_LOG_BUFFER_BYTES = 4096;

/** App loggers made by createLogger, and their buffered access log (accessLogOf). */
const accessLogs = new WeakMap<Logger, Logger>();

function loggerOptions(options: { name: string; level: string }) {
  return {
    name: options.name,
    level: options.level,
    base: { app: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
}

export function createLogger(options: { name: string; level: string }): Logger {
  const logger = pino({
    ...loggerOptions(options),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
  // Request lines hold only the fields recordRequest writes (id, method, URL, route, status,
  // duration), none of them a redacted path: redaction, a walk of every line, is left out.
  accessLogs.set(logger, pino(loggerOptions(options), new BufferedDestination()));
  return logger;
}

/** Where an app writes its request lines: the buffered access log of a createLogger logger. */
export function accessLogOf(logger: Logger): Logger {
  return accessLogs.get(logger) ?? logger;
}

/** Standard output through sonic-boom's buffer, flushed at most ACCESS_LOG_FLUSH_MS later. */
class BufferedDestination implements DestinationStream {
  // sync: false registers a synchronous flush on process exit (pino's own exit handling).
  private readonly sink = pino.destination({
    dest: 1,
    sync: false,
    minLength: ACCESS_LOG_BUFFER_BYTES,
  });
  private timer: NodeJS.Timeout | undefined;

  write(line: string): void {
    this.sink.write(line);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.sink.flush();
    }, ACCESS_LOG_FLUSH_MS).unref();
  }

  flush(callback?: (error?: Error) => void): void {
    this.sink.flush(callback);
  }

  flushSync(): void {
    this.sink.flushSync();
  }
}

/** Routes Nest's own log calls into the JSON logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace', message: unknown, context?: string) {
    if (typeof message === 'object' && message !== null)
      this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}

export type { Logger };
