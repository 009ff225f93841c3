import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import * as ort from 'onnxruntime-node';
import { DomainError, type Logger } from '@maas/app-runtime';
import type { ModelVersion } from '@maas/db';
import {
  ArtifactIntegrityError,
  ArtifactReader,
  type ObjectStore,
  OBJECT_STORE,
} from '@maas/model-registry';
import type { TensorSpec } from '@maas/tensors';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { VersionLookupService } from './version-lookup.service.js';

export const INFERENCE_LOGGER = Symbol('INFERENCE_LOGGER');

export interface LoadedModel {
  versionId: string;
  session: ort.InferenceSession;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  sizeBytes: number;
}

interface Entry {
  loading: Promise<LoadedModel>;
  loaded?: LoadedModel;
  lastUsed: number;
}

/**
 * Loaded ONNX sessions keyed by version id, bounded by a byte budget (the artifact size is the
 * estimate) with least-recently-used eviction. Concurrent first requests share one load; bytes
 * are checked against the recorded sha256 before a session is created from them.
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
  ) {
    this.artifacts = new ArtifactReader(store);
  }

  async get(version: ModelVersion): Promise<LoadedModel> {
    let entry = this.entries.get(version.id);
    if (!entry) {
      const loading = this.load(version);
      entry = { loading, lastUsed: Date.now() };
      this.entries.set(version.id, entry);
      const created = entry;
      loading.then(
        (loaded) => {
          created.loaded = loaded;
          this.evictBeyondBudget(version.id);
        },
        () => this.entries.delete(version.id),
      );
    }
    entry.lastUsed = Date.now();
    return entry.loading;
  }

  loadedVersionIds(): string[] {
    return [...this.entries.values()].flatMap((e) => (e.loaded ? [e.loaded.versionId] : []));
  }

  loadedBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.loaded?.sizeBytes ?? 0;
    return total;
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
      await this.versions.markCorrupt(version, error.reason).catch(() => undefined);
      throw new DomainError('UNAVAILABLE', 'model version failed its integrity check');
    }
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: this.config.ORT_INTRA_OP_THREADS,
      executionMode: 'sequential',
    });
    this.logger.info(
      { versionId: version.id, sizeBytes: bytes.length, loadMs: Date.now() - started },
      'model version loaded',
    );
    return {
      versionId: version.id,
      session,
      inputs: version.inputs as unknown as TensorSpec[],
      outputs: version.outputs as unknown as TensorSpec[],
      sizeBytes: bytes.length,
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
      total -= entry.loaded!.sizeBytes;
      void entry.loaded!.session.release();
      this.logger.info({ versionId: id }, 'model version evicted');
    }
  }

  async onModuleDestroy(): Promise<void> {
    const loaded = [...this.entries.values()].flatMap((e) => (e.loaded ? [e.loaded] : []));
    this.entries.clear();
    await Promise.all(loaded.map((m) => m.session.release()));
  }
}
