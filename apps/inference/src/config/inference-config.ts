import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, sharedConfigShape } from '@maas/config';
import { z } from 'zod';

const MiB = 1024 * 1024;

export const inferenceConfigSchema = z.object({
  ...sharedConfigShape,
  PORT: env.port(8080),
  /** Byte budget of loaded models; least recently used versions are released beyond it. */
  MODEL_CACHE_BYTES: env.positiveInt(2048 * MiB),
  /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose. */
  ORT_INTRA_OP_THREADS: env.nonNegativeInt(0),
  MAX_REQUEST_BYTES: env.positiveInt(64 * MiB),
  /** How long a resolved (tenant, model, version) stays cached before it is looked up again. */
  VERSION_LOOKUP_TTL_MS: env.nonNegativeInt(2000),
});

export type InferenceConfig = z.infer<typeof inferenceConfigSchema>;
export const INFERENCE_CONFIG = Symbol('INFERENCE_CONFIG');

@Global()
@Module({})
export class InferenceConfigModule {
  static forRoot(config: InferenceConfig): DynamicModule {
    return {
      module: InferenceConfigModule,
      providers: [{ provide: INFERENCE_CONFIG, useValue: config }],
      exports: [INFERENCE_CONFIG],
    };
  }
}
