import { setFlagsFromString } from 'node:v8';
import type { DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, httpTimeoutsFrom } from '@maas/config';
import { createHttpApp, type HttpAppOptions } from './http-app.js';
import { createLogger, type Logger } from './logger.js';
import { enterSandboxDirectory } from './sandbox-directory.js';

/** What bootstrapApp reads from an app's config: sharedConfigShape and the app's PORT. */
export interface AppBootConfig {
  LOG_LEVEL: string;
  HOST: string;
  PORT: number;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_IDLE_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  HTTP_LINGER_MS: number;
}

export interface AppBootstrap<Config extends AppBootConfig> {
  /** The app's name: its logger's `app`, and the prefix of what it writes to stderr at boot. */
  name: string;
  /** Validates the environment against the app's schema (a ConfigError names each problem). */
  loadConfig: (env: Record<string, string | undefined>) => Config;
  /**
   * Leave the start directory for an empty, read-only one before the app is built, for an app
   * that loads tenants' models: nothing they name relative to it exists (docs/security.md).
   */
  sandboxDirectory?: boolean;
  /** The app's root module. */
  module: (config: Config, logger: Logger) => DynamicModule;
  /** The app's own createHttpApp options (body limit, trusted proxies, draining). */
  http?: (config: Config) => Omit<HttpAppOptions, 'logger' | 'timeouts'>;
  /** App-specific set-up of the built app before it listens (parsers, hooks, plugins). */
  beforeListen?: (
    app: NestFastifyApplication,
    config: Config,
    logger: Logger,
  ) => void | Promise<void>;
  /**
   * V8 flags the app sets for itself before it is built, beside the ones every app sets
   * (`--memory-reducer-single-gc`). Only flags V8 reads each time it decides belong here.
   */
  v8Flags?: readonly string[];
  /** The line logged once the app listens, with `port` and `fields`. */
  listening: { message: string; fields?: (config: Config) => Record<string, unknown> };
}

/**
 * After a burst of traffic (or start-up) V8's memory reducer runs up to three full collections
 * of the whole heap, 8 s apart, on an otherwise idle process: each marks the ~65 MB heap on the
 * main and helper threads (80-120 ms of CPU), which was most of an idle app's CPU in the minute
 * after a load (docs/performance.md, idle). One collection still gives the burst's garbage back;
 * the heap then shrinks further at the next collection traffic causes. The flag is read each
 * time the reducer decides, so setting it before the app is built is in time.
 */
const V8_IDLE_FLAGS = '--memory-reducer-single-gc';

/** Sets V8 flags in this process (every isolate, worker threads included), in order. */
function applyV8Flags(flags: readonly string[]): void {
  for (const flag of flags) setFlagsFromString(flag);
}

async function startApp<Config extends AppBootConfig>(
  options: AppBootstrap<Config>,
): Promise<NestFastifyApplication> {
  applyV8Flags([V8_IDLE_FLAGS, ...(options.v8Flags ?? [])]);
  let config: Config;
  try {
    config = options.loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${options.name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: options.name, level: config.LOG_LEVEL });
  if (options.sandboxDirectory) {
    logger.info({ cwd: enterSandboxDirectory() }, 'working directory is an empty sandbox');
  }
  const app = await createHttpApp(options.module(config, logger), {
    logger,
    ...options.http?.(config),
    timeouts: httpTimeoutsFrom(config),
  });
  await options.beforeListen?.(app, config, logger);
  await app.listen(config.PORT, config.HOST);
  logger.info(
    { port: config.PORT, ...options.listening.fields?.(config) },
    options.listening.message,
  );
  return app;
}

/**
 * The one start-up path of the apps' entrypoints (apps/<app>/src/main.ts): config validated
 * from the environment (a bad one: the problems on stderr, exit 1), the JSON logger, the
 * sandbox directory where asked, the Nest app on Fastify (createHttpApp: request ids, request
 * log, metrics, draining on SIGTERM/SIGINT), the app's own set-up, listen, one log line. A
 * failure to start is written to stderr and exits 1.
 */
export function bootstrapApp<Config extends AppBootConfig>(
  options: AppBootstrap<Config>,
): Promise<NestFastifyApplication> {
  return startApp(options).catch((error: unknown) => {
    process.stderr.write(
      `${options.name} failed to start: ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exit(1);
  });
}
