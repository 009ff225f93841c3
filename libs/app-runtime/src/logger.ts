import { writeSync } from 'node:fs';
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

/** An app logger's access log: pino on the buffer, and what writeAccessLine needs. */
interface AccessLog {
  logger: Logger;
  destination: BufferedDestination;
  /** `,"app":…,"name":…` as pino writes the app's bindings after level and time. */
  bindings: string;
}

/** App loggers made by createLogger, and their buffered access log (accessLogOf). */
const accessLogs = new WeakMap<Logger, AccessLog>();

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
  const destination = new BufferedDestination();
  accessLogs.set(logger, {
    logger: pino(loggerOptions(options), destination),
    destination,
    bindings: `,"app":${JSON.stringify(options.name)},"name":${JSON.stringify(options.name)}`,
  });
  return logger;
}

/** Where an app writes its request lines: the buffered access log of a createLogger logger. */
export function accessLogOf(logger: Logger): Logger {
  return accessLogs.get(logger)?.logger ?? logger;
}

/** The ISO-8601 second last written (`2026-12-07T05:48:03.`) and the millisecond it began at. */
let isoSecond = { from: 0, text: '' };

/**
 * `new Date(now).toISOString()`, from the second last formatted (a whole formatting costs
 * ~1.5 µs, a request line's largest part).
 */
export function isoTimeNow(now = Date.now()): string {
  let ms = now - isoSecond.from;
  if (ms < 0 || ms >= 1000) {
    const from = now - (now % 1000);
    isoSecond = { from, text: new Date(from).toISOString().slice(0, 20) };
    ms = now - from;
  }
  return `${isoSecond.text}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** What a request line says (recordRequest's fields). */
export interface AccessLine {
  requestId: string;
  method: string;
  url: string;
  /** The route template (`/v2/models/:model/infer`), or 'unmatched'. */
  route: string;
  status: number;
  durationMs: number;
}

/**
 * Writes one request line to `logger`'s access log at info: the line pino would write for
 * `accessLogOf(logger).info(line, 'request')`, field for field and in the same order, made here
 * because its shape never changes (pino's general path cost ~9 µs per request line, this
 * ~2). A logger not made by createLogger gets the line through pino.
 */
export function writeAccessLine(logger: Logger, line: AccessLine): void {
  const access = accessLogs.get(logger);
  if (!access) {
    logger.info({ ...line }, 'request');
    return;
  }
  if (!access.logger.isLevelEnabled('info')) return;
  const duration = Number.isFinite(line.durationMs) ? line.durationMs : null;
  const status = Number.isFinite(line.status) ? line.status : null;
  access.destination.write(
    `{"level":"info","time":"${isoTimeNow()}"${access.bindings}` +
      `,"requestId":${JSON.stringify(line.requestId)},"method":${JSON.stringify(line.method)}` +
      `,"url":${JSON.stringify(line.url)},"route":${JSON.stringify(line.route)}` +
      `,"status":${status},"durationMs":${duration},"msg":"request"}\n`,
  );
}

/** Access logs with lines still buffered, written out synchronously when the process exits. */
const unwritten = new Set<BufferedDestination>();
let exitHooked = false;

/**
 * Standard output, written off the event loop in chunks of ACCESS_LOG_BUFFER_BYTES, at most
 * ACCESS_LOG_FLUSH_MS after a chunk's first line. Lines are gathered in an array and joined
 * once per chunk: sonic-boom's own buffer (`minLength`) appends each line to one string and
 * measures its byte length on every write, which flattens the whole string each time (~3 KB
 * allocated, and copied, per request line at 64 connections: a tenth of the gateway's heap
 * allocation, bench/serving). sonic-boom still does the writing (asynchronous, in order).
 */
class BufferedDestination implements DestinationStream {
  private readonly sink: ReturnType<typeof pino.destination>;
  private lines: string[] = [];
  private length = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    // Hooked before any sink is made: exit listeners run in order, and pino's own for a sink
    // ends it, after which the flushSync here would throw instead of writing what is gathered.
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const destination of unwritten) destination.flushSync();
      });
    }
    this.sink = pino.destination({ dest: 1, sync: false });
  }

  write(line: string): void {
    this.lines.push(line);
    // UTF-16 length: the byte count for the ASCII a request line is, a threshold otherwise.
    this.length += line.length;
    if (this.length >= ACCESS_LOG_BUFFER_BYTES) {
      this.writeLines();
      return;
    }
    unwritten.add(this);
    this.timer ??= setTimeout(() => this.writeLines(), ACCESS_LOG_FLUSH_MS).unref();
  }

  flush(callback?: (error?: Error) => void): void {
    this.writeLines();
    this.sink.flush(callback);
  }

  /**
   * Writes everything now (on exit). What sonic-boom holds goes first; the gathered lines are
   * written here, not handed to it: it would start an asynchronous write the exiting process
   * never completes.
   */
  flushSync(): void {
    this.sink.flushSync();
    const chunk = this.takeLines();
    if (chunk) writeSync(1, chunk);
  }

  /** Hands the gathered lines to sonic-boom as one string (an asynchronous write). */
  private writeLines(): void {
    const chunk = this.takeLines();
    if (chunk) this.sink.write(chunk);
  }

  private takeLines(): string | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    unwritten.delete(this);
    if (this.lines.length === 0) return undefined;
    const chunk = this.lines.join('');
    this.lines = [];
    this.length = 0;
    return chunk;
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
