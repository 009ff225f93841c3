import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DomainError, type Logger } from '@maas/app-runtime';
import { masterKeyFrom } from '@maas/config';
import { type ModelVersion, PrismaService } from '@maas/db';
import {
  ArtifactIntegrityError,
  ArtifactReader,
  TenantDataKeys,
  type ObjectStore,
  OBJECT_STORE,
} from '@maas/model-registry';
import type { TensorSpec } from '@maas/tensors';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { Batcher, type BatcherOptions } from '../inference/batcher.js';
import { InferenceMetrics } from '../inference/inference.metrics.js';
import { createOrtRuntime, isBatchable, type ModelRuntime, warmUpInputs } from './model-runtime.js';
import { loadTfjsRuntime, tfjsBackendNames } from './tfjs-runtime.js';
import { VersionLookupService } from './version-lookup.service.js';

export const INFERENCE_LOGGER = Symbol('INFERENCE_LOGGER');

export interface LoadedModel {
  versionId: string;
  runtime: ModelRuntime;
  batcher: Batcher;
  batchable: boolean;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  sizeBytes: number;
  /** Requests holding this version (queued or running); the session is released at 0. */
  inFlight: number;
  evicted: boolean;
  servingKey: string;
}

interface Entry {
  loading: Promise<LoadedModel>;
  loaded?: LoadedModel;
  lastUsed: number;
}

/** Per-version serving overrides stored in `model_versions.serving_config`. */
interface ServingConfig {
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
 * Loaded model versions keyed by version id, bounded by a byte budget (the artifact size is the
 * estimate) with least-recently-used eviction. Concurrent first requests share one load; bytes
 * come through `ArtifactReader` (sha256-checked); each load ends with a warm-up run. An evicted
 * version's session is released once its last in-flight request is done.
 */
@Injectable()
export class ModelCacheService implements OnModuleDestroy {
  private readonly entries = new Map<string, Entry>();
  private readonly artifacts: ArtifactReader;

  constructor(
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    @Inject(INFERENCE_LOGGER) private readonly logger: Logger,
    private readonly versions: VersionLookupService,
    private readonly metrics: InferenceMetrics,
    prisma: PrismaService,
  ) {
    // Decrypts with the tenant's data key (unwrapped by the master key) and checks the sha256.
    this.artifacts = new ArtifactReader(store, new TenantDataKeys(prisma, masterKeyFrom(config)));
  }

  /** The loaded version, held until `release` (eviction waits for it). */
  async acquire(version: ModelVersion): Promise<LoadedModel> {
    let entry = this.entries.get(version.id);
    if (!entry) {
      const loading = this.load(version);
      entry = { loading, lastUsed: Date.now() };
      this.entries.set(version.id, entry);
      const created = entry;
      loading.then(
        (loaded) => {
          created.loaded = loaded;
          this.metrics.cacheLoads.inc({ result: 'ok' });
          this.evictBeyondBudget(version.id);
          this.updateGauges();
        },
        () => {
          this.metrics.cacheLoads.inc({ result: 'error' });
          if (this.entries.get(version.id) === created) this.entries.delete(version.id);
        },
      );
    }
    entry.lastUsed = Date.now();
    const loaded = await entry.loading;
    if (loaded.evicted) return this.acquire(version);
    loaded.inFlight++;
    const options = this.batcherOptions(version, loaded.batchable);
    const key = JSON.stringify(options);
    if (key !== loaded.servingKey) {
      loaded.servingKey = key;
      loaded.batcher.configure(options);
    }
    return loaded;
  }

  release(loaded: LoadedModel): void {
    loaded.inFlight--;
    if (loaded.evicted && loaded.inFlight === 0) this.dispose(loaded);
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
    return ['onnxruntime', ...tfjsBackendNames()];
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

  private async load(version: ModelVersion): Promise<LoadedModel> {
    const started = Date.now();
    let bytes: Buffer;
    try {
      bytes = await this.artifacts.read(version);
    } catch (error) {
      if (!(error instanceof ArtifactIntegrityError)) throw error;
      this.logger.error(
        { versionId: version.id, reason: error.reason },
        'model artifact is corrupt',
      );
      this.metrics.integrityFailures.inc();
      await this.versions.markCorrupt(version, error.reason).catch(() => undefined);
      throw new DomainError('UNAVAILABLE', 'model version failed its integrity check');
    }
    const inputs = version.inputs as unknown as TensorSpec[];
    const outputs = version.outputs as unknown as TensorSpec[];
    let runtime: ModelRuntime;
    try {
      runtime =
        version.format === 'tfjs'
          ? await loadTfjsRuntime(bytes, inputs, outputs)
          : await createOrtRuntime(bytes, {
              intraOpThreads: this.config.ORT_INTRA_OP_THREADS,
              allowSpinning: this.config.ORT_ALLOW_SPINNING,
            });
    } catch (error) {
      if (error instanceof DomainError) throw error;
      this.logger.error({ versionId: version.id, err: error }, 'model version failed to load');
      throw new DomainError('UNAVAILABLE', 'model version could not be loaded');
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
        sizeBytes: bytes.length,
        backend: runtime.backend,
        loadMs: Date.now() - started,
      },
      'model version loaded',
    );
    const batchable = isBatchable(inputs, outputs);
    const options = this.batcherOptions(version, batchable);
    const batcher = new Batcher(
      options,
      (feeds, outputNames) => runtime.run(feeds, outputNames),
      (run) => {
        this.metrics.batchSize.observe(run.rows);
        this.metrics.batchRequests.observe(run.requests);
        this.metrics.computeSeconds.observe(run.computeMs / 1000);
      },
    );
    return {
      versionId: version.id,
      runtime,
      batcher,
      batchable,
      inputs,
      outputs,
      sizeBytes: bytes.length,
      inFlight: 0,
      evicted: false,
      servingKey: JSON.stringify(options),
    };
  }

  private evictBeyondBudget(keep: string): void {
    let total = this.loadedBytes();
    const byAge = [...this.entries.entries()]
      .filter(([id, e]) => e.loaded && id !== keep)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [id, entry] of byAge) {
      if (total <= this.config.MODEL_CACHE_BYTES) break;
      this.entries.delete(id);
      const loaded = entry.loaded!;
      total -= loaded.sizeBytes;
      loaded.evicted = true;
      this.metrics.cacheEvictions.inc();
      this.logger.info({ versionId: id, inFlight: loaded.inFlight }, 'model version evicted');
      if (loaded.inFlight === 0) this.dispose(loaded);
    }
  }

  private dispose(loaded: LoadedModel): void {
    loaded.batcher.close();
    loaded.runtime.release().then(
      () => this.logger.info({ versionId: loaded.versionId }, 'model version released'),
      (error: unknown) =>
        this.logger.warn({ versionId: loaded.versionId, err: error }, 'session release failed'),
    );
    this.updateGauges();
  }

  private updateGauges(): void {
    this.metrics.cacheBytes.set(this.loadedBytes());
    this.metrics.cacheModels.set(this.loadedVersionIds().length);
  }

  async onModuleDestroy(): Promise<void> {
    const loaded = [...this.entries.values()].flatMap((e) => (e.loaded ? [e.loaded] : []));
    this.entries.clear();
    for (const model of loaded) model.batcher.close();
    await Promise.all(loaded.map((m) => m.runtime.release().catch(() => undefined)));
  }
}
