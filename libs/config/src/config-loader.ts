import { createHash } from 'node:crypto';
import { z } from 'zod';

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
  REDIS_URL: env.url('redis://127.0.0.1:6379', /^rediss?:$/),
  /** Prefix of every Redis key the platform writes (queues, limits, caches): lets deployments share a Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only')
    .default('maas'),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  STORAGE_DRIVER: z.enum(['fs', 's3']).default('fs'),
  STORAGE_FS_ROOT: z.string().min(1).default('.data/storage'),
  S3_ENDPOINT: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z.string().default('maas'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** `production` makes MASTER_KEY mandatory (no development default). */
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

// Development only: a fixed, public key so that every app of a local run agrees on it.
const DEVELOPMENT_MASTER_KEY = createHash('sha256')
  .update('maas development master key (public; never use in production)')
  .digest();

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
    if (config.NODE_ENV === 'production') {
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

/** For app schemas: refuses to start in production without a master key. */
export const masterKeyRequiredInProduction: [
  (config: { NODE_ENV: string; MASTER_KEY?: string }) => boolean,
  { message: string; path: string[] },
] = [
  (config) => config.NODE_ENV !== 'production' || config.MASTER_KEY !== undefined,
  { message: 'is required when NODE_ENV=production', path: ['MASTER_KEY'] },
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
