import { Inject, Injectable } from '@nestjs/common';
import { type ModelVersion, Prisma, PrismaService } from '@maas/db';
import { type OutputPolicy, outputPolicyProblem, type TensorSpec } from '@maas/tensors';
import type { ObjectStore } from '../storage/object-store.js';
import { modelVersionPrefix } from '../storage/storage-keys.js';
import { ModelsService } from './models.service.js';
import { RegistryError, versionNotFound } from './registry.errors.js';
import { OBJECT_STORE } from './registry.tokens.js';

export interface ServingConfig {
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  instanceConcurrency?: number;
  /**
   * Workers that share the version's traffic: the first `replicas` in its rendezvous order take
   * requests in turn (default 1: the version stays hot on one worker); one that has not loaded
   * it is warmed first and takes requests once it has (the gateway's WorkerDirectory.route).
   */
  replicas?: number;
  /** Tensor elements one request may carry (default: the worker's MAX_ELEMENTS_PER_REQUEST). */
  maxElementsPerRequest?: number;
  /** Bytes one answer may take; lowers the worker's MAX_RESPONSE_BYTES, never raises it. */
  maxResponseBytes?: number;
  /** What answers may reveal: rounded scores, the top-k classes, or the label only. */
  outputPolicy?: OutputPolicy;
}

/**
 * A model's versions once they exist: listed, read, their serving config set, archived, and
 * moved in and out of quarantine. New versions come from VersionUploadsService.
 */
@Injectable()
export class ModelVersionsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly models: ModelsService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  /** Every version of a model, oldest first, whatever its state. */
  async listVersions(tenantId: string, name: string): Promise<ModelVersion[]> {
    const model = await this.models.getModel(tenantId, name);
    return this.db(tenantId).modelVersion.findMany({
      where: { modelId: model.id },
      orderBy: { number: 'asc' },
    });
  }

  /** A page of versions by number (the cursor is the last number of the previous page). */
  async listVersionsPage(
    tenantId: string,
    name: string,
    page: { cursor?: number; limit: number },
  ): Promise<{ items: ModelVersion[]; nextCursor: number | null }> {
    const model = await this.models.getModel(tenantId, name);
    const rows = await this.db(tenantId).modelVersion.findMany({
      where: {
        modelId: model.id,
        ...(page.cursor !== undefined && { number: { gt: page.cursor } }),
      },
      orderBy: { number: 'asc' },
      take: page.limit + 1,
    });
    const items = rows.slice(0, page.limit);
    return {
      items,
      nextCursor: rows.length > page.limit ? items[items.length - 1].number : null,
    };
  }

  async getVersion(tenantId: string, name: string, number: number): Promise<ModelVersion> {
    const model = await this.models.getModel(tenantId, name);
    const version = await this.db(tenantId).modelVersion.findUnique({
      where: { modelId_number: { modelId: model.id, number } },
    });
    if (!version) throw versionNotFound(name, number);
    return version;
  }

  /**
   * A trained decision tree version's tree (JSON and rules); any other version is refused with
   * FAILED_PRECONDITION (409): it has no tree to show.
   */
  async getTree(tenantId: string, name: string, number: number): Promise<object> {
    const version = await this.getVersion(tenantId, name, number);
    if (version.tree === null || typeof version.tree !== 'object') {
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `version ${number} of model '${name}' is not a trained decision tree; it has no tree to show`,
      );
    }
    return version.tree;
  }

  /** Ready versions of a model, oldest first (for protocol metadata). */
  async readyVersionNumbers(modelId: string): Promise<number[]> {
    const rows = await this.prisma.modelVersion.findMany({
      where: { modelId, status: 'ready' },
      select: { number: true },
      orderBy: { number: 'asc' },
    });
    return rows.map((r) => r.number);
  }

  /**
   * Sets (or with null clears) the version's serving config: batching, concurrency, limits and
   * the output policy, which must suit the version's outputs (400 otherwise).
   */
  async updateVersion(
    tenantId: string,
    name: string,
    number: number,
    changes: { servingConfig?: ServingConfig | null },
  ): Promise<ModelVersion> {
    const version = await this.getVersion(tenantId, name, number);
    if (changes.servingConfig === undefined) return version;
    const policy = changes.servingConfig?.outputPolicy;
    if (policy) {
      const problem = outputPolicyProblem(policy, version.outputs as unknown as TensorSpec[]);
      if (problem) throw new RegistryError('INVALID_ARGUMENT', problem);
    }
    return this.db(tenantId).modelVersion.update({
      where: { id: version.id },
      data: {
        servingConfig:
          changes.servingConfig === null ? Prisma.DbNull : (changes.servingConfig as object),
      },
    });
  }

  /**
   * Archives a version and removes its bytes. A version a label points at is refused (409):
   * move the label first, so that deleting a version never silently changes what serves.
   */
  async deleteVersion(tenantId: string, name: string, number: number): Promise<ModelVersion> {
    const version = await this.getVersion(tenantId, name, number);
    const db = this.db(tenantId);
    const labels = await db.modelLabel.findMany({
      where: { targets: { some: { versionId: version.id } } },
      select: { name: true },
    });
    if (labels.length > 0) {
      throw new RegistryError(
        'ALREADY_EXISTS',
        `version ${number} of model '${name}' is the target of label(s) ${labels
          .map((l) => `'${l.name}'`)
          .join(', ')}; move or delete them first`,
      );
    }
    const archived = await db.modelVersion.update({
      where: { id: version.id },
      data: {
        status: 'archived',
        statusReason: version.status === 'archived' ? version.statusReason : 'deleted',
      },
    });
    await this.store
      .deletePrefix(modelVersionPrefix(tenantId, version.modelId, version.number))
      .catch(() => undefined);
    return archived;
  }

  /**
   * Stops serving a ready version whose requests were in flight on workers that stopped too
   * often (the gateway counts those stops). True when this call quarantined it.
   */
  async quarantineVersion(tenantId: string, versionId: string, reason: string): Promise<boolean> {
    const { count } = await this.db(tenantId).modelVersion.updateMany({
      where: { id: versionId, status: 'ready' },
      data: { status: 'quarantined', statusReason: reason },
    });
    return count === 1;
  }

  /**
   * Serves a quarantined version again (an admin's decision). A ready version is left as it is;
   * any other state is refused (409): releasing never revives a failed or deleted version.
   */
  async releaseQuarantine(tenantId: string, name: string, number: number): Promise<ModelVersion> {
    const version = await this.getVersion(tenantId, name, number);
    if (version.status === 'ready') return version;
    if (version.status !== 'quarantined') {
      throw new RegistryError(
        'ALREADY_EXISTS',
        `version ${number} of model '${name}' is ${version.status}; only a quarantined version can be released`,
      );
    }
    await this.db(tenantId).modelVersion.updateMany({
      where: { id: version.id, status: 'quarantined' },
      data: { status: 'ready', statusReason: null },
    });
    return this.getVersion(tenantId, name, number);
  }

  /** Tenant-facing methods query through the tenant's scoped client, never the bare one. */
  private db(tenantId: string) {
    return this.prisma.forTenant(tenantId);
  }
}
