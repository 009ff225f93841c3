import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, masterKeyRequiredInProduction, sharedConfigShape } from '@maas/config';
import { z } from 'zod';

const MiB = 1024 * 1024;

export const inferenceConfigSchema = z
  .object({
    ...sharedConfigShape,
    PORT: env.port(8080),
    /**
     * Port of the worker link, the framed TCP transport the gateway sends inference requests
     * over (advertised in Redis with the worker's URL); 0 takes any free port.
     */
    LINK_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
    /** Byte budget of loaded models; least recently used versions are released beyond it. */
    MODEL_CACHE_BYTES: env.positiveInt(2048 * MiB),
    /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose. */
    ORT_INTRA_OP_THREADS: env.nonNegativeInt(0),
    /**
     * Whether onnxruntime's idle threads busy-wait for the next run. Off by default: spinning
     * buys a few µs per call but burns ~1 ms of CPU after every run, which the HTTP side of a
     * busy worker needs (measured with bench/serving/run.mjs, CPU µs per request).
     */
    ORT_ALLOW_SPINNING: env.boolean(false),
    MAX_REQUEST_BYTES: env.positiveInt(64 * MiB),
    /** How long a resolved (tenant, model, version) stays cached before it is looked up again. */
    VERSION_LOOKUP_TTL_MS: env.nonNegativeInt(2000),
    /** Dynamic batching defaults (a version's serving_config overrides them). */
    BATCH_MAX_SIZE: env.positiveInt(64),
    BATCH_MAX_QUEUE_DELAY_MS: env.nonNegativeInt(0),
    /** Runtime calls in flight at once per version. */
    INSTANCE_CONCURRENCY: env.positiveInt(2),
    /** Requests waiting per version beyond those running; more are shed with 429. */
    MAX_QUEUED_REQUESTS: env.positiveInt(512),
    /** A request still queued after this long answers 504. */
    QUEUE_TIMEOUT_MS: env.positiveInt(10_000),
    /** TF.js backend for `tfjs` versions; `auto` takes the best present. */
    TFJS_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /** URL the gateway reaches this worker at (registered in Redis); default http://HOST:PORT. */
    WORKER_ADVERTISE_URL: z.string().url().optional(),
    /** Seconds between heartbeats; a worker missing 3 is dropped from routing. */
    WORKER_HEARTBEAT_MS: env.positiveInt(1000),
  })
  .refine(...masterKeyRequiredInProduction);

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
