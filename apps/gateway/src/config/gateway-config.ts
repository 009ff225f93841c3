import { Global, Module, type DynamicModule } from '@nestjs/common';
import { env, requireProductionSecrets, sharedConfigShape, workerSecret } from '@maas/config';
import { parseTrustedProxies } from '@maas/app-runtime';
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
     * A worker whose requests run past INFERENCE_TIMEOUT_MS this many times within the window,
     * for at least two tenants, is routed around (its versions go to the next worker in
     * rendezvous order) for the cool-down, even while its heartbeat is alive.
     */
    WORKER_SUSPECT_TIMEOUTS: env.positiveInt(3),
    WORKER_SUSPECT_WINDOW_MS: env.positiveInt(60_000),
    WORKER_SUSPECT_COOLDOWN_MS: env.positiveInt(30_000),
    /**
     * A version whose requests were in flight on a worker that stopped (its connection lost
     * mid-request) this many times within the window is quarantined: 503 until a new version
     * is uploaded or an admin releases it. Counted in Redis, so every gateway agrees.
     */
    QUARANTINE_AFTER_LOSSES: env.positiveInt(3),
    QUARANTINE_WINDOW_MS: env.positiveInt(600_000),
    /**
     * How inference requests reach workers: `link`, the framed TCP transport workers advertise
     * (one multiplexed connection per worker; bodies over 1 MiB still stream over HTTP), or
     * `http` for every request.
     */
    INFERENCE_TRANSPORT: z.enum(['link', 'http']).default('link'),
    /** Shared with the inference workers: the gateway proves it on every link and HTTP request. */
    WORKER_SECRET: workerSecret(),
    MAX_UPLOAD_BYTES: env.positiveInt(512 * MiB),
    /**
     * Model uploads one gateway takes at once, and of those one tenant (429 past either): each
     * holds up to MAX_UPLOAD_BYTES of plaintext on /tmp (twice that with S3), see docs/deploy.md.
     */
    MAX_UPLOADS_IN_FLIGHT: env.positiveInt(4),
    MAX_UPLOADS_IN_FLIGHT_PER_TENANT: env.positiveInt(2),
    /** Upload validations at once, each in a child process of its own (the others queue). */
    VALIDATION_CONCURRENCY: env.positiveInt(1),
    /** Resident memory one validation child may reach; past it, it is killed and the upload 422s. */
    VALIDATION_MEMORY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(128 * MiB, 'must be at least 134217728 (128 MiB): a validator needs ~100 MiB to start')
      .default(2048 * MiB),
    /** Wall-clock time one validation may take (422 past it). */
    VALIDATION_TIMEOUT_MS: env.positiveInt(60_000),
    /** A TF.js archive may unpack to this many times its compressed size... */
    MAX_UNPACK_RATIO: env.positiveInt(20),
    /** ... and never past this (at most 2 GiB, what any reader of an archive accepts). */
    MAX_UNPACKED_BYTES: z.coerce
      .number()
      .int()
      .positive()
      // HARD_MAX_UNPACKED_BYTES of @maas/model-registry: what a worker reading it accepts.
      .max(2048 * MiB, 'must be at most 2147483648 (2 GiB)')
      .default(1024 * MiB),
    /**
     * `/api` requests (not inference, not event streams) one tenant may have in flight on one
     * gateway; more get 429. Keeps one tenant from holding every database connection.
     */
    MAX_CONCURRENT_API_REQUESTS_PER_TENANT: env.positiveInt(16),
    /** Training-event streams (SSE) one tenant may hold open on one gateway; more get 429. */
    MAX_EVENT_STREAMS_PER_TENANT: env.positiveInt(16),
    /**
     * Requests a client alone on this gateway (no other client for a second) may start per
     * event-loop turn; with others about each starts 4 (http/fair-admission.ts). 4 splits every
     * burst, alone or not, at a cost in CPU per request.
     */
    ADMISSIONS_PER_TURN_ALONE: env.positiveInt(64),
    /** Largest dataset CSV (413 past it, checked while streaming). */
    MAX_DATASET_BYTES: env.positiveInt(256 * MiB),
    MAX_JSON_BODY_BYTES: env.positiveInt(MiB),
    API_KEY_CACHE_MS: env.nonNegativeInt(500),
    /**
     * How long API keys, tenant limits and version resolutions read before are still served
     * while PostgreSQL cannot refresh them (an outage): inference for them rides through it.
     */
    STALE_IF_ERROR_MS: env.nonNegativeInt(5 * 60_000),
    /** Found keys kept by the API-key cache (LRU past it); set above the number of live keys. */
    API_KEY_CACHE_ENTRIES: env.positiveInt(10_000),
    /** Unknown keys remembered, apart from the found ones, so a flood cannot push those out. */
    API_KEY_NEGATIVE_CACHE_ENTRIES: env.positiveInt(1_000),
    /**
     * Trusted proxies: `false`, or IPs / CIDRs whose X-Forwarded-For is believed (the client is
     * the first untrusted hop from the right). Per-IP limits and the audit log use that client.
     */
    TRUST_PROXY: z
      .string()
      .default('false')
      .transform((value, ctx) => {
        try {
          return parseTrustedProxies(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    /**
     * Per-client-IP token bucket (in this process) spent by requests that do not authenticate
     * from the cache (no key, a malformed, unknown or wrong one), before any database lookup.
     */
    UNAUTHENTICATED_REQUESTS_PER_SECOND: env.positiveInt(10),
    UNAUTHENTICATED_BURST: env.positiveInt(100),
    /** Per-key token bucket on non-inference tenant routes (inference has the tenant's bucket). */
    API_KEY_REQUESTS_PER_SECOND: env.positiveInt(100),
    API_KEY_BURST: env.positiveInt(200),
    /** Limit checks answer 503 when Redis does not answer within this time. */
    LIMITS_REDIS_TIMEOUT_MS: env.positiveInt(1_000),
    /** How often metered usage moves from Redis to Postgres (also flushed on shutdown). */
    USAGE_FLUSH_MS: env.positiveInt(2_000),
    /**
     * A worker's successful answer is counted in Redis before it is sent (one script call per
     * event-loop turn, shared by every answer of that turn), so a gateway killed with SIGKILL
     * has counted every answer a client received. `false` sends first and counts within
     * USAGE_BUFFER_MS: a little less CPU, and a kill loses up to that much metering.
     */
    USAGE_RECORDED_BEFORE_ANSWER: env.boolean(true),
    /**
     * Other usage (refused and failed requests, and all of it without the setting above) is
     * summed in memory and added to Redis this often (the monthly quota counter is taken per
     * request and loses nothing).
     */
    USAGE_BUFFER_MS: env.positiveInt(200),
    /**
     * A gateway's open usage batch that has had no push for this long may be closed (and
     * flushed) by any gateway: how soon a killed gateway's counts reach PostgreSQL.
     */
    USAGE_OPEN_BATCH_GRACE_MS: env.positiveInt(3_000),
    /** Login attempts per client IP, across accounts, in a 15-minute window. */
    LOGIN_ATTEMPTS_PER_IP: env.positiveInt(50),
    /** Failures per (account, client IP) before that pair's delay starts doubling. */
    LOGIN_FAILURES_BEFORE_DELAY: env.positiveInt(5),
    LOGIN_DELAY_BASE_SECONDS: env.positiveInt(1),
    LOGIN_MAX_DELAY_SECONDS: env.positiveInt(900),
    /**
     * Failures on an account from IPs it has not logged in from before the account-wide delay
     * starts (distributed guessing); that delay is capped lower and never applies to known IPs.
     */
    LOGIN_ATTEMPTS_PER_ACCOUNT: env.positiveInt(10),
    LOGIN_ACCOUNT_MAX_DELAY_SECONDS: env.positiveInt(60),
    /** How long an IP that logged into an account stays known to it. */
    LOGIN_KNOWN_IP_DAYS: env.positiveInt(30),
  })
  .refine((c) => (c.MAAS_ADMIN_EMAIL === undefined) === (c.MAAS_ADMIN_PASSWORD === undefined), {
    message: 'set both MAAS_ADMIN_EMAIL and MAAS_ADMIN_PASSWORD, or neither',
    path: ['MAAS_ADMIN_PASSWORD'],
  })
  .superRefine(requireProductionSecrets('JWT_SECRET', 'MASTER_KEY', 'WORKER_SECRET'));

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
