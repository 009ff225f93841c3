import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { APP_LOGGER, DomainError, type Logger, LruCache } from '@maas/app-runtime';
import { masterKeyFrom } from '@maas/config';
import { type ModelVersion, PrismaService } from '@maas/db';
import {
  ArtifactIntegrityError,
  ArtifactReader,
  unsealThread,
  InvalidModelError,
  TenantDataKeys,
  type ObjectStore,
  OBJECT_STORE,
} from '@maas/model-registry';
import type { TensorSpec } from '@maas/tensors';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { Batcher, type BatcherOptions } from '../inference/batcher.js';
import { InferenceMetrics } from '../inference/inference.metrics.js';
import { createOrtRuntime, isBatchable, type ModelRuntime, warmUpInputs } from './model-runtime.js';
import {
  type EvictionReason,
  type LoadReservation,
  ModelMemoryBudget,
  type Resident,
} from './model-memory-budget.js';
import { OrtThreads } from './ort-threads.js';
import { loadTfjsRuntime, tfjs, tfjsBackendName } from './tfjs-runtime.js';
import { TfjsThreads } from './tfjs-thread.js';
import { VersionLookupService } from './version-lookup.service.js';

export interface LoadedModel {
  versionId: string;
  tenantId: string;
  runtime: ModelRuntime;
  batcher: Batcher;
  batchable: boolean;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  sizeBytes: number;
  /** Memory charged against MODEL_CACHE_BYTES: sizeBytes × MODEL_MEMORY_FACTOR. */
  chargedBytes: number;
  /** Requests holding this version (queued or running); the session is released at 0. */
  inFlight: number;
  evicted: boolean;
  servingKey: string;
}

interface Entry {
  loading: Promise<LoadedModel>;
  loaded?: LoadedModel;
  lastUsed: number;
  /** Requests awaiting the load: held for them the moment it succeeds, so none is evicted first. */
  waiting: number;
}

/** What a failed load says about the version: its bytes (remembered long) or storage (briefly). */
type FailureKind = 'permanent' | 'transient';
const failureKinds = new WeakMap<Error, FailureKind>();
function failure<E extends Error>(error: E, kind: FailureKind): E {
  failureKinds.set(error, kind);
  return error;
}

/**
 * The most raw output bytes one byte of answer can stand for: an 8-byte element written as a
 * JSON digit and a comma (answerBytesAtLeast's lower bound), so raw bytes above 4× the answer
 * cap never fit it, however encoded.
 */
export const RAW_BYTES_PER_ANSWER_BYTE = 4;

/** Failed versions remembered at most; the oldest go first (each is a short message). */
const MAX_REMEMBERED_FAILURES = 10_000;

interface RememberedFailure {
  code: DomainError['code'];
  message: string;
  until: number;
}

/** Per-version serving overrides stored in `model_versions.serving_config`. */
export interface ServingConfig {
  /** Tensor elements one request may carry (MAX_ELEMENTS_PER_REQUEST by default). */
  maxElementsPerRequest?: number;
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  instanceConcurrency?: number;
  /** Requests allowed to wait (beyond those running) before shedding with 429. */
  maxQueueSize?: number;
}

function positiveInt(value: unknown, min: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= min ? value : undefined;
}

/**
 * Loaded model versions keyed by version id, within a memory budget (MODEL_CACHE_BYTES; a
 * version is charged its artifact size × MODEL_MEMORY_FACTOR) and a tenant's share of it,
 * with least-recently-used eviction. A load reserves its memory before reading a byte
 * (ModelMemoryBudget: bounded waits, at most MAX_CONCURRENT_LOADS at once). Concurrent first
 * requests share one load; bytes come through `ArtifactReader` (sha256-checked); each load ends
 * with a warm-up run. A load that fails is remembered (MODEL_LOAD_FAILURE_CACHE_MS), so a flood
 * of requests to a broken version is answered from memory. An evicted version's session is
 * released once its last in-flight request is done, and counts against the budget until then.
 */
@Injectable()
export class ModelCacheService implements OnModuleInit, OnModuleDestroy {
  private readonly entries = new Map<string, Entry>();
  /** Evicted while requests held them: memory still in use until the last one is released. */
  private readonly draining = new Set<LoadedModel>();
  private readonly failures = new LruCache<RememberedFailure>(MAX_REMEMBERED_FAILURES);
  /** Orders uses for LRU eviction (a clock could tie within a millisecond). */
  private useCounter = 0;
  /** When each tenant last asked for a version (performance.now()): who is being served. */
  private readonly lastAskedAt = new Map<string, number>();
  private readonly artifacts: ArtifactReader;
  private readonly budget: ModelMemoryBudget;
  private readonly ortThreads: OrtThreads;
  /** Where TF.js versions load and run (TFJS_THREADS), else the event loop. */
  private readonly tfjsThreads?: TfjsThreads;

  constructor(
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    private readonly versions: VersionLookupService,
    private readonly metrics: InferenceMetrics,
    prisma: PrismaService,
  ) {
    // Decrypts with the tenant's data key (unwrapped by the master key) and checks the sha256.
    this.artifacts = new ArtifactReader(store, new TenantDataKeys(prisma, masterKeyFrom(config)));
    this.ortThreads = new OrtThreads(config.ORT_MODEL_THREADS, config.ORT_MODEL_THREAD_NICE);
    if (config.TFJS_THREADS > 0) {
      this.tfjsThreads = new TfjsThreads(
        config.TFJS_THREADS,
        config.TFJS_BACKEND,
        config.ORT_MODEL_THREAD_NICE,
      );
    }
    this.budget = new ModelMemoryBudget(
      {
        budgetBytes: config.MODEL_CACHE_BYTES,
        tenantShareBytes: Math.floor(config.MODEL_CACHE_BYTES * config.MODEL_CACHE_TENANT_SHARE),
        maxConcurrentLoads: config.MAX_CONCURRENT_LOADS,
        maxLoadsPerTenant: config.MAX_CONCURRENT_LOADS_PER_TENANT,
        waitMs: config.MODEL_LOAD_WAIT_MS,
        loadTimeShare: config.LOAD_TIME_SHARE_PER_TENANT,
      },
      {
        residents: () => this.residents(),
        othersServedWithin: (tenantId, ms) => this.othersServedWithin(tenantId, ms),
        evict: (versionId, reason) => this.evict(versionId, reason),
      },
      metrics,
    );
  }

  /** The model threads and the artifact thread started (and warm) before the first cold load. */
  async onModuleInit(): Promise<void> {
    this.ortThreads.prestart();
    await unsealThread.unseal(Buffer.from('warm-up'), { hash: true }).catch(() => undefined);
  }

  /**
   * The loaded version, held until `release` (eviction waits for it). `preload`: no request
   * waits for it (the gateway warming a replica), so it is not a cold start.
   */
  async acquire(version: ModelVersion, preload = false): Promise<LoadedModel> {
    this.lastAskedAt.set(version.tenantId, performance.now());
    let entry = this.entries.get(version.id);
    let loaded: LoadedModel;
    if (entry?.loaded && entry.loaded.runtime.alive === false) {
      // Its model thread stopped and took the session with it: load it again.
      this.logger.warn({ versionId: version.id }, 'model version lost with its thread: reloading');
      this.evict(version.id, 'thread_lost');
      entry = undefined;
    }
    if (entry?.loaded) {
      entry.lastUsed = ++this.useCounter;
      loaded = entry.loaded;
      loaded.inFlight++;
    } else {
      if (!entry) {
        this.throwRememberedFailure(version.id);
        entry = this.startLoad(version);
      }
      entry.lastUsed = ++this.useCounter;
      entry.waiting++;
      if (!preload) this.metrics.coldStartRequests.inc();
      // Held for this request by the load itself (inFlight counts it): see load().
      loaded = await entry.loading;
    }
    const options = this.batcherOptions(version, loaded.batchable);
    const key = JSON.stringify(options);
    if (key !== loaded.servingKey) {
      loaded.servingKey = key;
      loaded.batcher.configure(options);
    }
    return loaded;
  }

  /**
   * Whether a tenant other than `tenantId` asked for a version within the last `ms` (the load
   * budget pauses a tenant's loads only then). Forgets tenants silent for far longer.
   */
  private othersServedWithin(tenantId: string, ms: number): boolean {
    const now = performance.now();
    let served = false;
    for (const [tenant, at] of this.lastAskedAt) {
      if (now - at > 60_000) this.lastAskedAt.delete(tenant);
      else if (tenant !== tenantId && now - at <= ms) served = true;
    }
    return served;
  }

  release(loaded: LoadedModel): void {
    loaded.inFlight--;
    if (loaded.inFlight > 0) return;
    if (loaded.evicted) this.dispose(loaded);
    // Idle now: a load waiting for room may evict it.
    else this.budget.changed();
  }

  private startLoad(version: ModelVersion): Entry {
    const entry: Entry = { loading: undefined!, lastUsed: ++this.useCounter, waiting: 0 };
    entry.loading = this.load(version, entry);
    this.entries.set(version.id, entry);
    entry.loading.then(
      () => this.metrics.cacheLoads.inc({ result: 'ok' }),
      (error: unknown) => {
        this.metrics.cacheLoads.inc({ result: 'error' });
        // Remembered before the entry goes: no request in between starts another load.
        this.rememberFailure(version.id, error);
        if (this.entries.get(version.id) === entry) this.entries.delete(version.id);
      },
    );
    return entry;
  }

  /**
   * A version that failed to load answers the same error for a while, from memory: no read,
   * decryption or parse per request. Permanent failures (the bytes: integrity, sandbox refusal,
   * unloadable, missing) for MODEL_LOAD_FAILURE_CACHE_MS; transient ones (storage unavailable)
   * for MODEL_LOAD_TRANSIENT_FAILURE_CACHE_MS; a refusal for want of room not at all.
   */
  private rememberFailure(versionId: string, error: unknown): void {
    const kind = error instanceof Error ? failureKinds.get(error) : undefined;
    if (!kind || !(error instanceof DomainError)) return;
    const ttl =
      kind === 'permanent'
        ? this.config.MODEL_LOAD_FAILURE_CACHE_MS
        : this.config.MODEL_LOAD_TRANSIENT_FAILURE_CACHE_MS;
    if (ttl <= 0) return;
    this.failures.set(versionId, {
      code: error.code,
      message: error.message,
      until: Date.now() + ttl,
    });
  }

  private throwRememberedFailure(versionId: string): void {
    const remembered = this.failures.peek(versionId)?.value;
    if (!remembered) return;
    const left = remembered.until - Date.now();
    if (left <= 0) {
      this.failures.delete(versionId);
      return;
    }
    this.metrics.negativeCacheHits.inc();
    const error = new DomainError(remembered.code, remembered.message);
    // A 503 says when the worker will try the version again.
    if (remembered.code === 'UNAVAILABLE') {
      (error as DomainError & { retryAfterSeconds: number }).retryAfterSeconds = Math.ceil(
        left / 1000,
      );
    }
    throw error;
  }

  loadedVersionIds(): string[] {
    return [...this.entries.values()].flatMap((e) => (e.loaded ? [e.loaded.versionId] : []));
  }

  loadedBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.loaded?.sizeBytes ?? 0;
    return total;
  }

  /** Runtime backends this worker can serve with. */
  backends(): string[] {
    const tfjsName = tfjsBackendName();
    return ['onnxruntime', this.tfjsThreads ? this.tfjsThreads.backendName(tfjsName) : tfjsName];
  }

  /**
   * TF.js loaded where TF.js versions run (the readiness check): on the first TF.js thread
   * (TFJS_THREADS), so the event loop's heap never holds it; else on the loop.
   */
  async tfjsReady(): Promise<void> {
    if (this.tfjsThreads) await this.tfjsThreads.ready();
    else await tfjs();
  }

  /** In-flight requests per loaded version (for the heartbeat and admin views). */
  capacityInUse(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.loaded?.inFlight ?? 0;
    return total;
  }

  private batcherOptions(version: ModelVersion, batchable: boolean): BatcherOptions {
    const overrides = (version.servingConfig ?? {}) as ServingConfig;
    return {
      batchable,
      maxBatchSize: positiveInt(overrides.maxBatchSize, 1) ?? this.config.BATCH_MAX_SIZE,
      maxQueueDelayMs:
        positiveInt(overrides.maxQueueDelayMs, 0) ?? this.config.BATCH_MAX_QUEUE_DELAY_MS,
      concurrency:
        positiveInt(overrides.instanceConcurrency, 1) ?? this.config.INSTANCE_CONCURRENCY,
      maxQueue: positiveInt(overrides.maxQueueSize, 0) ?? this.config.MAX_QUEUED_REQUESTS,
      queueTimeoutMs: this.config.QUEUE_TIMEOUT_MS,
    };
  }

  /** Memory a version of `sizeBytes` is charged against the budget. */
  private charge(sizeBytes: number): number {
    return Math.ceil(sizeBytes * this.config.MODEL_MEMORY_FACTOR);
  }

  /**
   * Reserves the version's memory (waiting for room), then opens it. On success the version is
   * resident and held for every request that waited for it, and the reservation turns into the
   * entry's charge in the same step: nothing is counted twice, or not at all.
   */
  private async load(version: ModelVersion, entry: Entry): Promise<LoadedModel> {
    const recorded =
      version.sizeBytes === null || version.sizeBytes === undefined
        ? undefined
        : Number(version.sizeBytes);
    const reservation = await this.budget.reserve(
      version.tenantId,
      // Size not recorded (an old row): a whole tenant share until the bytes are read.
      recorded === undefined ? this.budget.limits.tenantShareBytes : this.charge(recorded),
      `version ${version.number}`,
    );
    try {
      const model = await this.open(version, reservation);
      model.inFlight = entry.waiting;
      entry.waiting = 0;
      entry.loaded = model;
      return model;
    } finally {
      reservation.release();
      this.updateGauges();
    }
  }

  private async open(version: ModelVersion, reservation: LoadReservation): Promise<LoadedModel> {
    const started = Date.now();
    let bytes: Buffer;
    try {
      bytes = await this.artifacts.read(version);
      this.metrics.artifactReads.inc({ result: 'ok' });
    } catch (error) {
      // A read that failed says nothing about the bytes: 503, the version stays as it is.
      if (!(error instanceof ArtifactIntegrityError)) {
        this.metrics.artifactReads.inc({ result: 'unavailable' });
        this.logger.warn({ versionId: version.id, err: error }, 'model artifact not readable');
        throw failure(
          new DomainError('UNAVAILABLE', 'model version is temporarily unavailable'),
          'transient',
        );
      }
      this.metrics.artifactReads.inc({ result: 'integrity' });
      this.logger.error(
        { versionId: version.id, reason: error.reason },
        'model artifact is corrupt',
      );
      this.metrics.integrityFailures.inc();
      await this.versions.markCorrupt(version, error.reason).catch(() => undefined);
      throw failure(
        new DomainError('UNAVAILABLE', 'model version failed its integrity check'),
        'permanent',
      );
    }
    // (The bytes may be handed to a model thread below: their size is kept here.)
    const sizeBytes = bytes.length;
    // The recorded size was an estimate until now: settle the reservation on the real bytes.
    const chargedBytes = this.charge(sizeBytes);
    if (!reservation.resize(chargedBytes)) {
      throw chargedBytes > this.budget.limits.tenantShareBytes
        ? failure(this.budget.tooLarge(chargedBytes, `version ${version.number}`), 'permanent')
        : failure(
            new DomainError('UNAVAILABLE', 'model version is temporarily unavailable'),
            'transient',
          );
    }
    const inputs = version.inputs as unknown as TensorSpec[];
    const outputs = version.outputs as unknown as TensorSpec[];
    let runtime: ModelRuntime;
    try {
      runtime = await this.openRuntime(version, bytes);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof InvalidModelError) {
        throw failure(await this.refuse(version, error), 'permanent');
      }
      this.logger.error({ versionId: version.id, err: error }, 'model version failed to load');
      // sha256-checked bytes that onnxruntime cannot load will not load on the next try either.
      throw failure(
        new DomainError('UNAVAILABLE', 'model version could not be loaded'),
        'permanent',
      );
    }
    try {
      await runtime.run(
        warmUpInputs(inputs),
        outputs.map((o) => o.name),
      );
    } catch (error) {
      // Some models reject zeros (e.g. index inputs); the first real request still works.
      this.logger.warn({ versionId: version.id, err: error }, 'warm-up run failed');
    }
    this.logger.info(
      {
        versionId: version.id,
        tenantId: version.tenantId,
        sizeBytes,
        chargedBytes,
        backend: runtime.backend,
        loadMs: Date.now() - started,
      },
      'model version loaded',
    );
    const batchable = isBatchable(inputs, outputs);
    const options = this.batcherOptions(version, batchable);
    const batcher = new Batcher(
      options,
      // Raw outputs past RAW_BYTES_PER_ANSWER_BYTE × MAX_RESPONSE_BYTES per request cannot fit
      // any answer (an encoded element takes at least 1/4 of its raw bytes): refused where they
      // were computed. A refused stack is run again request by request (Batcher). The inputs
      // are handed over: a batch's stack is the batcher's own, and a request's decoded inputs
      // are not read once they have run (a stack run again request by request uses the
      // requests' own inputs, not the stack).
      (feeds, outputNames, requests) =>
        runtime.run(
          feeds,
          outputNames,
          RAW_BYTES_PER_ANSWER_BYTE * this.config.MAX_RESPONSE_BYTES * requests,
          true,
        ),
      (run) => {
        this.metrics.batchSize.observe(run.rows);
        this.metrics.batchRequests.observe(run.requests);
        this.metrics.computeSeconds.observe(run.computeMs / 1000);
      },
    );
    return {
      versionId: version.id,
      tenantId: version.tenantId,
      runtime,
      batcher,
      batchable,
      inputs,
      outputs,
      sizeBytes,
      chargedBytes,
      inFlight: 0,
      evicted: false,
      servingKey: JSON.stringify(options),
    };
  }

  /**
   * The session for a version's checked bytes (tests of the cache policy fake it). The bytes are
   * handed to a thread (the tenant's model thread, the TF.js thread): not to be read after this.
   */
  protected openRuntime(version: ModelVersion, bytes: Buffer): Promise<ModelRuntime> {
    if (version.format === 'tfjs') {
      const inputs = version.inputs as unknown as TensorSpec[];
      const outputs = version.outputs as unknown as TensorSpec[];
      return this.tfjsThreads
        ? this.tfjsThreads.load(version.tenantId, bytes, inputs, outputs)
        : loadTfjsRuntime(bytes, inputs, outputs);
    }
    return createOrtRuntime(bytes, {
      intraOpThreads: this.config.ORT_INTRA_OP_THREADS,
      allowSpinning: this.config.ORT_ALLOW_SPINNING,
      threads: this.ortThreads,
      tenantId: version.tenantId,
    });
  }

  /**
   * A stored version the validators refuse (stored before a check existed, or planted): marked
   * failed with the reason so that it stops resolving, and answered 422. The reason names the
   * offending tensor or node, never a path or anything read from disk.
   */
  private async refuse(version: ModelVersion, error: InvalidModelError): Promise<DomainError> {
    this.logger.error(
      { versionId: version.id, reason: error.message },
      'model version refused at load',
    );
    await this.versions.markFailed(version, error.message).catch(() => undefined);
    return new DomainError(
      'INVALID_MODEL',
      `version ${version.number} cannot be served: ${error.message}`,
    );
  }

  /** Loaded versions, and evicted ones still in use, as the memory budget counts them. */
  private *residents(): Iterable<Resident> {
    for (const [versionId, entry] of this.entries) {
      const model = entry.loaded;
      if (!model) continue;
      yield {
        versionId,
        tenantId: model.tenantId,
        bytes: model.chargedBytes,
        lastUsed: entry.lastUsed,
        inUse: model.inFlight > 0,
        draining: false,
      };
    }
    for (const model of this.draining) {
      yield {
        versionId: model.versionId,
        tenantId: model.tenantId,
        bytes: model.chargedBytes,
        lastUsed: 0,
        inUse: true,
        draining: true,
      };
    }
  }

  /** Called by the budget to make room; requests holding the version finish on it first. */
  private evict(versionId: string, reason: EvictionReason): void {
    const loaded = this.entries.get(versionId)?.loaded;
    if (!loaded) return;
    this.entries.delete(versionId);
    loaded.evicted = true;
    this.metrics.cacheEvictions.inc({ reason });
    this.logger.info(
      { versionId, tenantId: loaded.tenantId, reason, inFlight: loaded.inFlight },
      'model version evicted',
    );
    if (loaded.inFlight === 0) this.dispose(loaded);
    else this.draining.add(loaded);
    this.updateGauges();
  }

  private dispose(loaded: LoadedModel): void {
    this.draining.delete(loaded);
    loaded.batcher.close();
    loaded.runtime.release().then(
      () => this.logger.info({ versionId: loaded.versionId }, 'model version released'),
      (error: unknown) =>
        this.logger.warn({ versionId: loaded.versionId, err: error }, 'session release failed'),
    );
    this.updateGauges();
    this.budget.changed();
  }

  private updateGauges(): void {
    this.metrics.cacheBytes.set(this.loadedBytes());
    this.metrics.cacheModels.set(this.loadedVersionIds().length);
  }

  async onModuleDestroy(): Promise<void> {
    this.budget.close();
    const loaded = [
      ...[...this.entries.values()].flatMap((e) => (e.loaded ? [e.loaded] : [])),
      ...this.draining,
    ];
    this.entries.clear();
    this.draining.clear();
    for (const model of loaded) model.batcher.close();
    await Promise.all(loaded.map((m) => m.runtime.release().catch(() => undefined)));
    await this.ortThreads.close();
  }
}
