import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, sharedConfigShape } from '@maas/config';
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
    MAX_UPLOAD_BYTES: env.positiveInt(512 * MiB),
    MAX_JSON_BODY_BYTES: env.positiveInt(MiB),
    API_KEY_CACHE_MS: env.nonNegativeInt(500),
  })
  .refine((c) => (c.MAAS_ADMIN_EMAIL === undefined) === (c.MAAS_ADMIN_PASSWORD === undefined), {
    message: 'set both MAAS_ADMIN_EMAIL and MAAS_ADMIN_PASSWORD, or neither',
    path: ['MAAS_ADMIN_PASSWORD'],
  });

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
