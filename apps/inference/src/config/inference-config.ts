import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, requireProductionSecrets, sharedConfigShape, workerSecret } from '@maas/config';
import { MAX_LINK_BODY_BYTES } from '@maas/worker-link';
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
    /**
     * Port of the operations endpoints (/metrics, /healthz, /readyz), kept off PORT and
     * LINK_PORT, which serve only the gateway; 0 takes any free port (logged as 'ops listening').
     */
    OPS_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
    /** Shared with the gateway: it must prove it on every link connection and HTTP request. */
    WORKER_SECRET: workerSecret(),
    /**
     * Memory budget of the models a worker holds, loaded and loading, each charged its artifact
     * size × MODEL_MEMORY_FACTOR; least recently used versions are released to make room.
     */
    MODEL_CACHE_BYTES: env.positiveInt(2048 * MiB),
    /**
     * A version's memory as a multiple of its artifact size: onnxruntime's session plus the
     * copies a load holds (measured on MLPs: ~1.3× once loaded, ~2.2× at the peak of a load).
     */
    MODEL_MEMORY_FACTOR: z.coerce.number().min(1).max(100).default(2),
    /**
     * Fraction of MODEL_CACHE_BYTES one tenant's versions may hold (loaded and loading): past
     * it a tenant's own least recently used versions make room, never another tenant's, and a
     * version that alone needs more is refused (413). 1 for a worker serving a single tenant.
     */
    MODEL_CACHE_TENANT_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
    /** Model versions loading at once (reading, decrypting, building sessions). */
    MAX_CONCURRENT_LOADS: env.positiveInt(2),
    /** Of those, loads one tenant may hold at once (the rest of its loads wait their turn). */
    MAX_CONCURRENT_LOADS_PER_TENANT: env.positiveInt(1),
    /**
     * The share of wall time one tenant's loads may hold a load slot while other tenants are
     * being served: after a load of d ms that tenant starts its next one d × (1 / share − 1) ms
     * later (0.5: a pause as long as the load). Its cold loads (reading, decrypting, building
     * sessions: CPU) then take at most this share of a core from the tenants already served.
     * 1: no pause. A worker no other tenant uses loads without pausing.
     */
    LOAD_TIME_SHARE_PER_TENANT: z.coerce.number().gt(0).max(1).default(0.5),
    /** How long a load waits for memory or a load slot before answering 503 with Retry-After. */
    MODEL_LOAD_WAIT_MS: env.positiveInt(10_000),
    /**
     * How long a version that failed to load (integrity, refused by the sandbox, unloadable
     * bytes, missing from storage) answers the same error from memory, without reading it again.
     */
    MODEL_LOAD_FAILURE_CACHE_MS: env.nonNegativeInt(30_000),
    /** The same for a read that failed for want of storage (unavailable, timeout); 0: never. */
    MODEL_LOAD_TRANSIENT_FAILURE_CACHE_MS: env.nonNegativeInt(1000),
    /**
     * Threads the worker's onnxruntime sessions live and run on, one tenant per thread while
     * there are enough (OrtThreads): one tenant's cold loads and slow models hold its own
     * thread, never the event loop that answers every tenant.
     */
    ORT_MODEL_THREADS: env.positiveInt(4),
    /**
     * How far below the event loop the model threads (and the TF.js thread) run (Linux nice
     * value, 0-19): loads and model compute yield the cores to the requests of every tenant
     * first.
     */
    ORT_MODEL_THREAD_NICE: env.nonNegativeInt(5),
    /**
     * onnxruntime intra-op threads per session (0 lets onnxruntime choose: one per core). One by
     * default: the worker's parallelism is across requests (batching) and tenants (model
     * threads), and one thread is what the hand-written baseline of bench/serving uses too (see
     * docs/performance.md for what it measured). Raise it for large models answering one
     * request at a time.
     */
    ORT_INTRA_OP_THREADS: env.nonNegativeInt(1),
    /**
     * Whether onnxruntime's idle threads busy-wait for the next run. Off by default: spinning
     * buys a few µs per call but burns ~1 ms of CPU after every run, which the HTTP side of a
     * busy worker needs (measured with bench/serving/run.mjs, CPU µs per request).
     */
    ORT_ALLOW_SPINNING: env.boolean(false),
    MAX_REQUEST_BYTES: env.positiveInt(64 * MiB),
    /**
     * Bytes one answer may take (a version's serving_config.maxResponseBytes may lower it): a
     * model whose outputs are larger fails that request alone (422), checked before the answer
     * is encoded. At most what a worker link frame carries, so no answer can break the link.
     */
    MAX_RESPONSE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .max(
        MAX_LINK_BODY_BYTES,
        `must be at most ${MAX_LINK_BODY_BYTES} (what a link frame carries)`,
      )
      .default(64 * MiB),
    /**
     * Tensor elements one request may carry, all inputs together (a version's
     * serving_config.maxElementsPerRequest overrides it); checked from the shapes before any
     * data is decoded. The default is what MAX_REQUEST_BYTES holds as binary FP32.
     */
    MAX_ELEMENTS_PER_REQUEST: env.positiveInt(16 * MiB),
    /**
     * Bytes of JSON past which a request is decoded, and an answer encoded, on the worker's codec
     * thread (below the event loop's priority) instead of its event loop: a large request then
     * costs its own sender the time, not every tenant on the worker. Below it a thread's round
     * trip costs more than the work (~5 ms of decoding at this size).
     */
    CODEC_THREAD_MIN_BYTES: env.positiveInt(256 * 1024),
    /** How long a resolved (tenant, model, version) stays cached before it is looked up again. */
    VERSION_LOOKUP_TTL_MS: env.nonNegativeInt(2000),
    /**
     * How long a version looked up before keeps serving while PostgreSQL cannot refresh it (an
     * outage). A version found gone (archived, deleted) stops at once.
     */
    STALE_IF_ERROR_MS: env.nonNegativeInt(5 * 60_000),
    /** Dynamic batching defaults (a version's serving_config overrides them). */
    BATCH_MAX_SIZE: env.positiveInt(64),
    BATCH_MAX_QUEUE_DELAY_MS: env.nonNegativeInt(0),
    /**
     * Runtime calls in flight at once per version. A version's calls all run on its tenant's
     * one model thread, so a second call in flight only waits there behind the first; at 1 the
     * batcher stacks everything that arrived meanwhile into the next call instead (an
     * interleaved A/B at 64 connections, binary 1-row: 333 → 306 µs of server CPU per request;
     * docs/performance.md).
     */
    INSTANCE_CONCURRENCY: env.positiveInt(1),
    /** Requests waiting per version beyond those running; more are shed with 429. */
    MAX_QUEUED_REQUESTS: env.positiveInt(512),
    /** A request still queued after this long answers 504. */
    QUEUE_TIMEOUT_MS: env.positiveInt(10_000),
    /** TF.js backend for `tfjs` versions; `auto` takes the best present. */
    TFJS_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /**
     * Threads TF.js versions load and run on, below the event loop's priority, one tenant per
     * thread while there are enough (as ORT_MODEL_THREADS): on the event loop a tenant's large
     * model held every tenant's requests for as long as it computed, and on one shared thread
     * every other TF.js tenant's. Each starts with its first model and holds a TF.js of its own.
     * 0: on the event loop, only where a TF.js backend cannot run in a worker thread.
     */
    TFJS_THREADS: env.nonNegativeInt(2),
    /** URL the gateway reaches this worker at (registered in Redis); default http://HOST:PORT. */
    WORKER_ADVERTISE_URL: z.string().url().optional(),
    /** Seconds between heartbeats; a worker missing 3 is dropped from routing. */
    WORKER_HEARTBEAT_MS: env.positiveInt(1000),
  })
  .refine((c) => c.OPS_PORT === 0 || (c.OPS_PORT !== c.PORT && c.OPS_PORT !== c.LINK_PORT), {
    message: 'must differ from PORT and LINK_PORT',
    path: ['OPS_PORT'],
  })
  .superRefine(requireProductionSecrets('MASTER_KEY', 'WORKER_SECRET'));

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
