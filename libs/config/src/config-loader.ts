import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  DEVELOPMENT_MASTER_KEY,
  isProduction,
  productionSecretProblem,
} from './production-secrets.js';

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Validates environment variables against a zod object schema whose keys are the variable
 * names, and returns the typed result. Every problem names its variable.
 */
export function loadConfig<T extends z.ZodObject<z.ZodRawShape>>(
  schema: T,
  env: Record<string, string | undefined>,
): z.infer<T> {
  // Empty strings count as unset so that `FOO= app` falls back to the default.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: issue.path.join('.') || '(root)',
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/** Common building blocks for the apps' schemas. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback),
  host: () => z.string().min(1).default('0.0.0.0'),
  url: (fallback: string, protocols: RegExp) =>
    z
      .string()
      .default(fallback)
      .refine((value) => {
        try {
          return protocols.test(new URL(value).protocol);
        } catch {
          return false;
        }
      }, 'must be a valid URL with a supported scheme'),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeInt: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((value) => ['true', '1', 'yes'].includes(value)),
  logLevel: () =>
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/** Variables every app shares: where Postgres, Redis and the object store are. */
export const sharedConfigShape = {
  DATABASE_URL: env.url('postgresql://maas:maas@127.0.0.1:5432/maas', /^postgres(ql)?:$/),
  /** PostgreSQL cancels a statement running longer than this. */
  DATABASE_STATEMENT_TIMEOUT_MS: env.positiveInt(30_000),
  /** A query that waits longer for a pooled connection fails (no pile-up behind a stuck DB). */
  DATABASE_ACQUIRE_TIMEOUT_MS: env.positiveInt(5_000),
  DATABASE_POOL_SIZE: env.positiveInt(10),
  REDIS_URL: env.url('redis://127.0.0.1:6379', /^rediss?:$/),
  /** Prefix of every Redis key the platform writes (queues, limits, caches): lets deployments share a Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only')
    .default('maas'),
  LOG_LEVEL: env.logLevel(),
  /** Slow clients: request line and headers, whole request, and idle-connection deadlines. */
  HTTP_HEADERS_TIMEOUT_MS: env.positiveInt(15_000),
  HTTP_REQUEST_TIMEOUT_MS: env.positiveInt(600_000),
  HTTP_IDLE_TIMEOUT_MS: env.positiveInt(120_000),
  /** Idle keep-alive connections (above a load balancer's idle timeout, e.g. ALB's 60 s). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: env.positiveInt(72_000),
  /** A connection answered before its request body arrived: how long it waits for the rest. */
  HTTP_LINGER_MS: env.positiveInt(2_000),
  HOST: env.host(),
  STORAGE_DRIVER: z.enum(['fs', 's3']).default('fs'),
  /** Made absolute at load: the apps then leave their start directory (sandbox directory). */
  STORAGE_FS_ROOT: z
    .string()
    .min(1)
    .default('.data/storage')
    .transform((root) => resolve(root)),
  S3_ENDPOINT: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z.string().default('maas'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /**
   * `production` makes the secrets mandatory (MASTER_KEY; JWT_SECRET and WORKER_SECRET where an
   * app has them) and refuses their published development values.
   */
  NODE_ENV: z.string().default('development'),
  /** Platform master key (base64 of 32 bytes): wraps each tenant's artifact data key. */
  MASTER_KEY: z
    .string()
    .refine(
      (value) => Buffer.from(value, 'base64').length === 32,
      'must be the base64 encoding of 32 random bytes (openssl rand -base64 32)',
    )
    .optional(),
  /** Names the master key in tenants.master_key_id; defaults to a fingerprint of the key. */
  MASTER_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - only')
    .optional(),
};

/**
 * The platform master key from MASTER_KEY / MASTER_KEY_ID. Outside production an unset key
 * falls back to a fixed development key (id `dev`); in production it is a ConfigError.
 */
export function masterKeyFrom(config: {
  NODE_ENV: string;
  MASTER_KEY?: string;
  MASTER_KEY_ID?: string;
}): { id: string; key: Buffer } {
  if (config.MASTER_KEY === undefined) {
    if (isProduction(config.NODE_ENV)) {
      throw new ConfigError([
        { variable: 'MASTER_KEY', message: 'is required when NODE_ENV=production' },
      ]);
    }
    return { id: config.MASTER_KEY_ID ?? 'dev', key: DEVELOPMENT_MASTER_KEY };
  }
  const key = Buffer.from(config.MASTER_KEY, 'base64');
  const id =
    config.MASTER_KEY_ID ?? `mk-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
  return { id, key };
}

/**
 * For app schemas: refuses to start in production without a master key of its own. The apps
 * use requireProductionSecrets (production-secrets.ts), which names the reason.
 */
export const masterKeyRequiredInProduction: [
  (config: { NODE_ENV: string; MASTER_KEY?: string }) => boolean,
  { message: string; path: string[] },
] = [
  (config) =>
    !isProduction(config.NODE_ENV) ||
    productionSecretProblem('MASTER_KEY', config.MASTER_KEY) === undefined,
  {
    message: 'is required when NODE_ENV=production, and not a published development key',
    path: ['MASTER_KEY'],
  },
];

export type StorageConfig =
  | { driver: 'fs'; root: string }
  | {
      driver: 's3';
      endpoint?: string;
      region: string;
      bucket: string;
      accessKeyId?: string;
      secretAccessKey?: string;
    };

/** The HTTP server's slow-client deadlines from an app's validated config. */
export function httpTimeoutsFrom(config: {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_IDLE_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  HTTP_LINGER_MS: number;
}) {
  return {
    headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestMs: config.HTTP_REQUEST_TIMEOUT_MS,
    idleMs: config.HTTP_IDLE_TIMEOUT_MS,
    keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    lingerMs: config.HTTP_LINGER_MS,
  };
}

/** The database client's options from an app's validated config. */
export function databaseOptionsFrom(config: {
  DATABASE_URL: string;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
  DATABASE_ACQUIRE_TIMEOUT_MS: number;
  DATABASE_POOL_SIZE: number;
}) {
  return {
    databaseUrl: config.DATABASE_URL,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
    poolSize: config.DATABASE_POOL_SIZE,
  };
}

export function storageConfigFrom(config: {
  STORAGE_DRIVER: 'fs' | 's3';
  STORAGE_FS_ROOT: string;
  S3_ENDPOINT?: string;
  S3_REGION: string;
  S3_BUCKET: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}): StorageConfig {
  if (config.STORAGE_DRIVER === 'fs') return { driver: 'fs', root: config.STORAGE_FS_ROOT };
  return {
    driver: 's3',
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
  };
}
