import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, masterKeyRequiredInProduction, sharedConfigShape } from '@maas/config';
import { z } from 'zod';

const MiB = 1024 * 1024;

export const gatewayConfigSchema = z
  .object({
    ...sharedConfigShape,
    PORT: env.port(3000),
    /** Signs admin and user JWTs; a random one is generated per process when unset. */
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_TTL_SECONDS: env.positiveInt(900),
    REFRESH_TTL_SECONDS: env.positiveInt(7 * 24 * 3600),
    MAAS_ADMIN_EMAIL: z.email().optional(),
    MAAS_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
    INFERENCE_WORKER_URL: env.url('http://127.0.0.1:8080', /^https?:$/),
    INFERENCE_TIMEOUT_MS: env.positiveInt(30_000),
    /**
     * How inference requests reach workers: `link`, the framed TCP transport workers advertise
     * (one multiplexed connection per worker; bodies over 1 MiB still stream over HTTP), or
     * `http` for every request.
     */
    INFERENCE_TRANSPORT: z.enum(['link', 'http']).default('link'),
    MAX_UPLOAD_BYTES: env.positiveInt(512 * MiB),
    /** Largest dataset CSV (413 past it, checked while streaming). */
    MAX_DATASET_BYTES: env.positiveInt(256 * MiB),
    MAX_JSON_BODY_BYTES: env.positiveInt(MiB),
    API_KEY_CACHE_MS: env.nonNegativeInt(500),
    /** Per-key token bucket on non-inference tenant routes (inference has the tenant's bucket). */
    API_KEY_REQUESTS_PER_SECOND: env.positiveInt(100),
    API_KEY_BURST: env.positiveInt(200),
    /** Limit checks answer 503 when Redis does not answer within this time. */
    LIMITS_REDIS_TIMEOUT_MS: env.positiveInt(1_000),
    /** How often metered usage moves from Redis to Postgres (also flushed on shutdown). */
    USAGE_FLUSH_MS: env.positiveInt(2_000),
    /**
     * Usage is summed in memory and added to Redis this often (one pipeline, not one call per
     * request); a gateway killed with SIGKILL loses at most this much metering detail (the
     * monthly quota counter is taken per request and loses nothing).
     */
    USAGE_BUFFER_MS: env.positiveInt(200),
    /** Failed logins allowed per account and per IP in a 15-minute window. */
    LOGIN_ATTEMPTS_PER_ACCOUNT: env.positiveInt(10),
    LOGIN_ATTEMPTS_PER_IP: env.positiveInt(50),
  })
  .refine((c) => (c.MAAS_ADMIN_EMAIL === undefined) === (c.MAAS_ADMIN_PASSWORD === undefined), {
    message: 'set both MAAS_ADMIN_EMAIL and MAAS_ADMIN_PASSWORD, or neither',
    path: ['MAAS_ADMIN_PASSWORD'],
  })
  .refine(...masterKeyRequiredInProduction);

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

@Global()
@Module({})
export class GatewayConfigModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayConfigModule,
      providers: [{ provide: GATEWAY_CONFIG, useValue: config }],
      exports: [GATEWAY_CONFIG],
    };
  }
}
