import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { effectiveLimits, type TenantLimits } from '@maas/config';
import { type Model, type ModelLabel, type ModelVersion, Prisma, PrismaService } from '@maas/db';
import { ArtifactReader } from '../integrity/artifact-reader.js';
import { ENCRYPTION_OVERHEAD, encryptStream } from '../integrity/envelope.js';
import type { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { PayloadTooLargeError } from '../storage/storage-errors.js';
import {
  modelArtifactKey,
  modelPrefix,
  modelVersionPrefix,
  tenantPrefix,
} from '../storage/storage-keys.js';
import { assertValidModelName, MODEL_NAME_PATTERN } from '../validation/model-name.js';
import { tfjsArchiveKind } from '../validation/tfjs-archive.js';
import { InvalidModelError } from '../validation/validation-errors.js';
import {
  ValidationSandbox,
  type ValidationSandboxOptions,
} from '../validation/validation-sandbox.js';
import {
  modelNotFound,
  RegistryError,
  versionNotFound,
  versionQuarantined,
} from './registry.errors.js';
import { UploadScratch, writeFully } from './upload-scratch.js';
import { UploadSlots } from './upload-slots.js';

export const OBJECT_STORE = Symbol('OBJECT_STORE');
export const TENANT_DATA_KEYS = Symbol('TENANT_DATA_KEYS');
export const MODEL_UPLOAD_OPTIONS = Symbol('MODEL_UPLOAD_OPTIONS');

/** How uploads are bounded in this process (the gateway sets them from its config). */
export interface ModelUploadOptions {
  /** The validation child's caps (VALIDATION_* and MAX_UNPACK_* in the gateway's config). */
  validation?: Partial<ValidationSandboxOptions>;
  /** Uploads in progress at once (MAX_UPLOADS_IN_FLIGHT); unset: no limit (the trainer). */
  maxInFlight?: number;
  /** ... of which one tenant may hold (MAX_UPLOADS_IN_FLIGHT_PER_TENANT); unset: no limit. */
  maxInFlightPerTenant?: number;
}

export type ModelFormatName = 'onnx' | 'tfjs';

export interface VersionUpload {
  format: ModelFormatName;
  body: Readable | Buffer;
  /** The platform's upload limit; the tenant's remaining storage quota may lower it. */
  maxBytes: number;
  /** "user:<id>" or "api-key:<id>" */
  createdBy: string;
  /** The training job that produced it, if any. */
  trainingJobId?: string;
  metrics?: Record<string, unknown>;
}

export interface VersionSelector {
  version?: number;
  label?: string;
}

export interface ResolvedVersion {
  model: Model;
  version: ModelVersion;
}

/** The versions a request may resolve to, with their traffic weights (at least one). */
export interface VersionCandidates {
  model: Model;
  targets: { version: ModelVersion; weight: number }[];
}

/** Draws one version from the candidates by weight (the only one when there is one). */
export function pickVersion(candidates: VersionCandidates): ResolvedVersion {
  return { model: candidates.model, version: pickWeighted(candidates.targets).version };
}

/** pickVersion for serving: a quarantined version answers 503 with its reason. */
export function pickServableVersion(candidates: VersionCandidates): ResolvedVersion {
  const resolved = pickVersion(candidates);
  if (resolved.version.status === 'quarantined') {
    throw versionQuarantined(resolved.model.name, resolved.version);
  }
  return resolved;
}

export interface ServingConfig {
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  instanceConcurrency?: number;
  /**
   * Workers that share the version's traffic: the first `replicas` in its rendezvous order take
   * requests in turn (default 1: the version stays hot on one worker).
   */
  replicas?: number;
  /** Tensor elements one request may carry (default: the worker's MAX_ELEMENTS_PER_REQUEST). */
  maxElementsPerRequest?: number;
  /** Bytes one answer may take; lowers the worker's MAX_RESPONSE_BYTES, never raises it. */
  maxResponseBytes?: number;
}

/** A label's targets: version number → weight (one entry: a plain label). */
export type LabelTargets = Record<string, number>;

export interface LabelView {
  name: string;
  versions: LabelTargets;
}

const DEFAULT_LABEL = 'production';

/**
 * A name no model can have (createModel enforces the pattern) is missing, without asking the
 * database: URL segments and bodies are hostile, and PostgreSQL fails on a NUL byte.
 */
function assertPossibleModelName(name: string): void {
  if (!MODEL_NAME_PATTERN.test(name)) throw modelNotFound(name);
}
const LABEL_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
// Versions whose bytes are (or may still be) in storage count against the storage quota.
const STORED_STATUSES = ['uploading', 'validating', 'ready', 'corrupt', 'quarantined'] as const;
// Versions a request may resolve to; a quarantined one then answers 503 (pickServableVersion)
// instead of the request silently moving to another version.
const RESOLVABLE_STATUSES = ['ready', 'quarantined'] as const;

/**
 * The record of what each tenant can serve. Every method that takes the tenant id first
 * queries through the tenant's scoped client (PrismaService.forTenant), so a foreign model is
 * indistinguishable from a missing one. Only the maintenance sweep acts across tenants.
 */
@Injectable()
export class ModelRegistryService {
  private readonly reader: ArtifactReader;
  /** Validates uploads in child processes (never on this event loop or heap). */
  readonly validator: ValidationSandbox;
  private readonly uploadSlots: UploadSlots;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(TENANT_DATA_KEYS) private readonly dataKeys: TenantDataKeys,
    @Optional() @Inject(MODEL_UPLOAD_OPTIONS) uploads: ModelUploadOptions = {},
  ) {
    this.reader = new ArtifactReader(store, dataKeys);
    this.validator = new ValidationSandbox(uploads.validation);
    this.uploadSlots = new UploadSlots(
      uploads.maxInFlight ?? Infinity,
      uploads.maxInFlightPerTenant ?? Infinity,
    );
  }

  /** Reads an artifact as serving code does (decrypted, sha256-checked). */
  get artifacts(): ArtifactReader {
    return this.reader;
  }

  // ---- models -------------------------------------------------------------------------------

  async createModel(
    tenantId: string,
    input: { name: string; description?: string; metadata?: Record<string, unknown> },
  ): Promise<Model> {
    assertValidModelName(input.name);
    const limits = await this.limitsOf(tenantId);
    try {
      return await this.db(tenantId).$transaction(async (tx) => {
        // One create at a time per tenant, so the model count cannot be raced past its limit.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`models:${tenantId}`}))`;
        const existing = await tx.model.findUnique({
          where: { tenantId_name: { tenantId, name: input.name } },
        });
        if (existing) {
          throw new RegistryError('ALREADY_EXISTS', `model '${input.name}' already exists`);
        }
        const count = await tx.model.count({ where: { deletedAt: null } });
        if (count >= limits.maxModels) {
          throw new RegistryError(
            'RESOURCE_EXHAUSTED',
            `model limit reached: the tenant has ${count} of ${limits.maxModels} models; delete one first`,
          );
        }
        return tx.model.create({
          data: {
            tenantId,
            name: input.name,
            description: input.description ?? '',
            metadata: (input.metadata ?? {}) as object,
          },
        });
      });
    } catch (error) {
      // A concurrent create of the same name lost the race on the unique index.
      if ((error as { code?: string }).code === 'P2002') {
        throw new RegistryError('ALREADY_EXISTS', `model '${input.name}' already exists`);
      }
      throw error;
    }
  }

  async listModels(
    tenantId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ items: Model[]; nextCursor: string | null }> {
    const rows = await this.db(tenantId).model.findMany({
      where: { deletedAt: null, ...(page.cursor ? { name: { gt: page.cursor } } : {}) },
      orderBy: { name: 'asc' },
      take: page.limit + 1,
    });
    const items = rows.slice(0, page.limit);
    return { items, nextCursor: rows.length > page.limit ? items[items.length - 1].name : null };
  }

  async getModel(tenantId: string, name: string): Promise<Model> {
    assertPossibleModelName(name);
    const model = await this.db(tenantId).model.findUnique({
      where: { tenantId_name: { tenantId, name } },
    });
    if (!model || model.deletedAt) throw modelNotFound(name);
    return model;
  }

  async updateModel(
    tenantId: string,
    name: string,
    changes: { description?: string; metadata?: Record<string, unknown> },
  ): Promise<Model> {
    const model = await this.getModel(tenantId, name);
    return this.db(tenantId).model.update({
      where: { id: model.id },
      data: {
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.metadata !== undefined && { metadata: changes.metadata as object }),
      },
    });
  }

  /**
   * Soft delete: in one transaction the model stops resolving, its versions are archived, its
   * labels go and its name is freed for reuse (the row keeps it as `<name>~deleted~<id>`,
   * which no model name can be). Its bytes are removed right after the commit; a failure
   * there is left to sweepDeletedArtifacts.
   */
  async deleteModel(tenantId: string, name: string): Promise<Model> {
    const model = await this.getModel(tenantId, name);
    const db = this.db(tenantId);
    await db.$transaction([
      db.model.update({
        where: { id: model.id },
        data: { deletedAt: new Date(), name: `${model.name}~deleted~${model.id}` },
      }),
      db.modelLabel.deleteMany({ where: { modelId: model.id } }),
      db.modelVersion.updateMany({
        where: { modelId: model.id, status: { not: 'archived' } },
        data: { status: 'archived', statusReason: 'model deleted' },
      }),
    ]);
    await this.store.deletePrefix(modelPrefix(tenantId, model.id)).catch(() => undefined);
    return model;
  }

  // ---- versions -----------------------------------------------------------------------------

  /** Every version of a model, oldest first, whatever its state. */
  async listVersions(tenantId: string, name: string): Promise<ModelVersion[]> {
    const model = await this.getModel(tenantId, name);
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
    const model = await this.getModel(tenantId, name);
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
    const model = await this.getModel(tenantId, name);
    const version = await this.db(tenantId).modelVersion.findUnique({
      where: { modelId_number: { modelId: model.id, number } },
    });
    if (!version) throw versionNotFound(name, number);
    return version;
  }

  /** Sets (or with null clears) the version's serving config: batching and concurrency. */
  async updateVersion(
    tenantId: string,
    name: string,
    number: number,
    changes: { servingConfig?: ServingConfig | null },
  ): Promise<ModelVersion> {
    const version = await this.getVersion(tenantId, name, number);
    if (changes.servingConfig === undefined) return version;
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
   * Streams an artifact to storage (encrypted under the tenant's data key, sha256 and size of
   * the plaintext recorded), validates it by loading it, and records its signature. The number
   * is taken atomically. Past the platform limit or the tenant's storage quota the stream stops
   * (413). Anything that fails after the number was taken leaves a `failed` version with the
   * reason, and no bytes.
   */
  async uploadVersion(
    tenantId: string,
    name: string,
    upload: VersionUpload,
  ): Promise<ModelVersion> {
    const model = await this.getModel(tenantId, name);
    const limits = await this.limitsOf(tenantId);
    const used = await this.storageUsed(tenantId);
    const remaining = limits.storageBytes - used;
    if (remaining <= 0) throw quotaExceeded(limits, used);
    const quotaBound = remaining < upload.maxBytes;
    const maxBytes = Math.min(upload.maxBytes, remaining);
    const tooLarge = () =>
      quotaBound ? quotaExceeded(limits, used, maxBytes) : new PayloadTooLargeError(maxBytes);

    const release = this.uploadSlots.take(tenantId);
    try {
      const scratch = await UploadScratch.create();
      try {
        return await this.storeAndValidate(tenantId, model, upload, maxBytes, tooLarge, scratch);
      } finally {
        await scratch.dispose().catch(() => undefined);
      }
    } catch (error) {
      // The temp disk is sized for MAX_UPLOADS_IN_FLIGHT uploads (docs/deploy.md); if it still
      // fills, the upload is refused as a capacity problem, not reported as a bug.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new RegistryError(
          'UNAVAILABLE',
          'no scratch space is left for this upload; retry later',
        );
      }
      throw error;
    } finally {
      release();
    }
  }

  /**
   * uploadVersion past its checks: streams the body to storage (encrypted) and, chunk by chunk,
   * to the scratch directory's plaintext copy that the validation child reads; then validates.
   */
  private async storeAndValidate(
    tenantId: string,
    model: Model,
    upload: VersionUpload,
    maxBytes: number,
    tooLarge: () => Error,
    scratch: UploadScratch,
  ): Promise<ModelVersion> {
    const name = model.name;
    const { first, rest } = await peekFirstChunk(upload.body);
    if (first.length === 0) throw new InvalidModelError('the model file is empty');
    let fileName = 'model.onnx';
    if (upload.format === 'tfjs') {
      const kind = tfjsArchiveKind(first);
      if (!kind) {
        throw new InvalidModelError(
          'not a TensorFlow.js model archive: send a .zip or .tar.gz holding model.json and its weight shards',
        );
      }
      fileName = kind === 'zip' ? 'model.zip' : 'model.tar.gz';
    }

    const db = this.db(tenantId);
    // Raw SQL is not scoped: the model id comes from the tenant's own getModel above.
    const taken = await db.$queryRaw<{ number: number }[]>`
      UPDATE models SET next_version = next_version + 1, updated_at = now()
      WHERE id = ${model.id}::uuid AND deleted_at IS NULL
      RETURNING next_version - 1 AS number`;
    if (taken.length === 0) throw modelNotFound(name);
    const number = Number(taken[0].number);
    const artifactKey = modelArtifactKey(tenantId, model.id, number, fileName);
    const version = await db.modelVersion.create({
      data: {
        tenantId,
        modelId: model.id,
        number,
        format: upload.format,
        artifactKey,
        status: 'uploading',
        encrypted: true,
        createdBy: upload.createdBy,
        trainingJobId: upload.trainingJobId,
        metrics: upload.metrics as object | undefined,
      },
    });
    let bytesStored = false;
    try {
      const dataKey = await this.dataKeys.forTenant(tenantId);
      const hash = createHash('sha256');
      let sizeBytes = 0;
      const plaintext = await scratch.openArtifact();
      // Every chunk is metered, hashed and written to the validator's copy, then encrypted:
      // memory stays at a chunk, and nothing is read back from storage to validate.
      const teed = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of prepend(first, rest)) {
          sizeBytes += chunk.length;
          if (sizeBytes > maxBytes) throw tooLarge();
          hash.update(chunk);
          await writeFully(plaintext, chunk);
          yield chunk;
        }
      };
      try {
        const encrypted = Readable.from(
          encryptStream(teed(), dataKey, artifactKey, () => undefined),
        );
        await this.store.put(artifactKey, encrypted, {
          maxBytes: maxBytes + ENCRYPTION_OVERHEAD,
          contentType: 'application/octet-stream',
        });
      } finally {
        await plaintext.close();
      }
      bytesStored = true;
      const sha256 = hash.digest('hex');
      const moved = await db.modelVersion.updateMany({
        where: { id: version.id, status: 'uploading' },
        data: { status: 'validating', sha256, sizeBytes: BigInt(sizeBytes) },
      });
      // Deleted, or given up on by the sweep, while its bytes were streaming.
      if (moved.count === 0) throw versionNotFound(name, number);
      // Concurrent uploads each passed the quota check on their own: count them together.
      await this.assertWithinStorageQuota(tenantId, sizeBytes);

      const { signature } = await this.validator.validate({
        format: upload.format,
        file: scratch.artifactPath,
        workDir: scratch.directory,
      });
      const { count } = await db.modelVersion.updateMany({
        where: { id: version.id, status: 'validating' },
        data: {
          status: 'ready',
          inputs: signature.inputs as object[],
          outputs: signature.outputs as object[],
        },
      });
      // Deleted (the model or this version) while it was being validated.
      if (count === 0) throw versionNotFound(name, number);
      return await db.modelVersion.findUniqueOrThrow({ where: { id: version.id } });
    } catch (error) {
      if (bytesStored || !(error instanceof PayloadTooLargeError)) {
        await this.store.delete(artifactKey).catch(() => undefined);
      }
      await db.modelVersion
        .updateMany({
          where: { id: version.id, status: { in: ['uploading', 'validating'] } },
          data: { status: 'failed', statusReason: reasonOf(error) },
        })
        .catch(() => undefined);
      throw error;
    }
  }

  // ---- labels -------------------------------------------------------------------------------

  async listLabels(tenantId: string, modelId: string): Promise<LabelView[]> {
    const labels = await this.db(tenantId).modelLabel.findMany({
      where: { modelId },
      include: { targets: { include: { version: { select: { number: true } } } } },
      orderBy: { name: 'asc' },
    });
    return labels.map(labelView);
  }

  /**
   * Points a label at one ready version, or splits it by weight between several (canary).
   * Replaces whatever the label pointed at before, atomically.
   */
  async setLabel(
    tenantId: string,
    name: string,
    label: string,
    targets: LabelTargets,
  ): Promise<LabelView> {
    assertValidLabel(label);
    const model = await this.getModel(tenantId, name);
    const entries = Object.entries(targets);
    if (entries.length === 0) {
      throw new RegistryError('INVALID_ARGUMENT', 'a label needs at least one version');
    }
    const numbers = entries.map(([version, weight]) => {
      if (!/^[0-9]{1,9}$/.test(version) || Number(version) < 1) {
        throw new RegistryError('INVALID_ARGUMENT', `'${version}' is not a version number`);
      }
      if (!Number.isInteger(weight) || weight < 1 || weight > 1_000_000) {
        throw new RegistryError(
          'INVALID_ARGUMENT',
          `weight of version ${version} must be an integer from 1 to 1000000`,
        );
      }
      return Number(version);
    });
    const db = this.db(tenantId);
    const versions = await db.modelVersion.findMany({
      where: { modelId: model.id, number: { in: numbers } },
    });
    for (const number of numbers) {
      const version = versions.find((v) => v.number === number);
      if (!version) throw versionNotFound(name, number);
      if (version.status !== 'ready') {
        throw new RegistryError(
          'INVALID_ARGUMENT',
          `version ${number} of model '${name}' is ${version.status}; a label can only point at a ready version`,
        );
      }
    }
    const saved = await db.$transaction(async (tx) => {
      const row = await tx.modelLabel.upsert({
        where: { modelId_name: { modelId: model.id, name: label } },
        create: { modelId: model.id, name: label },
        update: { updatedAt: new Date() },
      });
      await tx.modelLabelTarget.deleteMany({ where: { labelId: row.id } });
      // One create per target (a label has a few): a scoped create checks both parents.
      for (const [version, weight] of entries) {
        await tx.modelLabelTarget.create({
          data: {
            labelId: row.id,
            versionId: versions.find((v) => v.number === Number(version))!.id,
            weight,
          },
        });
      }
      return row;
    });
    return labelView({
      ...saved,
      targets: entries.map(([version, weight]) => ({
        weight,
        version: { number: Number(version) },
      })),
    });
  }

  async deleteLabel(tenantId: string, name: string, label: string): Promise<void> {
    assertValidLabel(label);
    const model = await this.getModel(tenantId, name);
    const { count } = await this.db(tenantId).modelLabel.deleteMany({
      where: { modelId: model.id, name: label },
    });
    if (count === 0) {
      throw new RegistryError('NOT_FOUND', `label '${label}' of model '${name}' not found`);
    }
  }

  /**
   * Which version serves a request: the explicit one, else the label's (weighted when it
   * splits traffic), else label `production`, else the newest ready version. An explicit
   * version that failed its integrity check answers 503. A quarantined version is resolved
   * like a ready one (a label's split skips it while it has a ready target): serving code
   * draws with pickServableVersion, which answers its reason with 503.
   */
  async resolveVersion(
    tenantId: string,
    name: string,
    selector: VersionSelector,
  ): Promise<ResolvedVersion> {
    return pickVersion(await this.resolveCandidates(tenantId, name, selector));
  }

  /**
   * What resolveVersion draws from: the versions a request may go to, with their weights.
   * Hot paths may cache this briefly and call pickVersion per request, so that a weighted
   * label still splits traffic request by request.
   */
  async resolveCandidates(
    tenantId: string,
    name: string,
    selector: VersionSelector,
  ): Promise<VersionCandidates> {
    assertPossibleModelName(name);
    const db = this.db(tenantId);
    const live = { name, deletedAt: null };
    if (selector.version !== undefined) {
      // The hot path is one query; the misses find out which part is missing.
      const found = await db.modelVersion.findFirst({
        where: { number: selector.version, model: live },
        include: { model: true },
      });
      if (found?.status === 'ready' || found?.status === 'quarantined') {
        const { model, ...version } = found;
        return { model, targets: [{ version, weight: 1 }] };
      }
      await this.getModel(tenantId, name);
      if (found?.status === 'corrupt') {
        throw new RegistryError(
          'UNAVAILABLE',
          `version ${selector.version} of model '${name}' failed its integrity check`,
        );
      }
      throw versionNotFound(name, selector.version);
    }
    if (selector.label !== undefined) assertValidLabel(selector.label);
    const labelName = selector.label ?? DEFAULT_LABEL;
    const label = await db.modelLabel.findFirst({
      where: { name: labelName, model: live },
      include: { model: true, targets: { include: { version: true } } },
    });
    const weighted = label?.targets.filter((t) => t.weight > 0) ?? [];
    const ready = weighted.filter((t) => t.version.status === 'ready');
    // A quarantined target drops out of a split; a label left with none answers its reason.
    const targets = ready.length
      ? ready
      : weighted.filter((t) => t.version.status === 'quarantined');
    if (label && targets.length > 0) {
      return {
        model: label.model,
        targets: targets
          .map((t) => ({ version: t.version, weight: t.weight }))
          .sort((a, b) => a.version.number - b.version.number),
      };
    }
    const model = await this.getModel(tenantId, name);
    if (selector.label !== undefined) {
      throw new RegistryError(
        'NOT_FOUND',
        `label '${selector.label}' of model '${name}' not found`,
      );
    }
    const newest = await db.modelVersion.findFirst({
      where: { modelId: model.id, status: { in: [...RESOLVABLE_STATUSES] } },
      orderBy: { number: 'desc' },
    });
    if (!newest) throw new RegistryError('NOT_FOUND', `model '${name}' has no ready version`);
    return { model, targets: [{ version: newest, weight: 1 }] };
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

  /** Ready versions of a model, oldest first (for protocol metadata). */
  async readyVersionNumbers(modelId: string): Promise<number[]> {
    const rows = await this.prisma.modelVersion.findMany({
      where: { modelId, status: 'ready' },
      select: { number: true },
      orderBy: { number: 'asc' },
    });
    return rows.map((r) => r.number);
  }

  // ---- storage accounting and cleanup --------------------------------------------------------

  /**
   * Bytes that count against the tenant's storage quota: its model artifacts (plaintext sizes,
   * trained versions' TF.js copies included) and its datasets.
   */
  async storageUsed(tenantId: string): Promise<number> {
    const db = this.db(tenantId);
    const [versions, datasets] = await Promise.all([
      db.modelVersion.aggregate({
        where: { status: { in: [...STORED_STATUSES] }, model: { deletedAt: null } },
        _sum: { sizeBytes: true, tfjsSizeBytes: true },
      }),
      db.dataset.aggregate({
        where: { deletedAt: null },
        _sum: { sizeBytes: true },
      }),
    ]);
    return (
      Number(versions._sum.sizeBytes ?? 0) +
      Number(versions._sum.tfjsSizeBytes ?? 0) +
      Number(datasets._sum.sizeBytes ?? 0)
    );
  }

  /**
   * After an object's bytes are recorded (its row counts in storageUsed): throws the quota
   * error when the tenant is now past its storage quota. Concurrent uploads each passed
   * storageAllowance on their own; whichever checks here after the total went over fails (and
   * its caller removes it), so the quota is never exceeded, at worst refused one too many.
   */
  async assertWithinStorageQuota(tenantId: string, objectBytes: number): Promise<void> {
    const [limits, used] = await Promise.all([this.limitsOf(tenantId), this.storageUsed(tenantId)]);
    if (used > limits.storageBytes) throw quotaExceeded(limits, used - objectBytes);
  }

  /**
   * The most bytes a new object of the tenant may hold: `maxBytes`, or less when the storage
   * quota has less room. `quotaBound` says the quota (not `maxBytes`) set the bound, so a
   * too-large upload can say which limit it hit. No room at all is refused here.
   */
  async storageAllowance(
    tenantId: string,
    maxBytes: number,
  ): Promise<{ maxBytes: number; quotaBound: boolean; quotaExceeded: () => Error }> {
    const limits = await this.limitsOf(tenantId);
    const used = await this.storageUsed(tenantId);
    const remaining = limits.storageBytes - used;
    if (remaining <= 0) throw quotaExceeded(limits, used);
    return {
      maxBytes: Math.min(maxBytes, remaining),
      quotaBound: remaining < maxBytes,
      quotaExceeded: () => quotaExceeded(limits, used, remaining),
    };
  }

  /** Removes every stored byte of a tenant (its whole storage prefix): for tenant deletion. */
  async purgeTenant(tenantId: string): Promise<number> {
    const removed = await this.store.deletePrefix(tenantPrefix(tenantId));
    this.dataKeys.forget(tenantId);
    return removed;
  }

  /**
   * Background safety net (run periodically by the trainer's maintenance loop): uploads that
   * stopped mid-way (a crashed gateway) become `failed`; bytes of deleted models and of
   * archived or failed versions that an after-commit cleanup did not remove are removed, and
   * a deleted model whose bytes are gone is purged from the database. Idempotent.
   */
  async sweepDeletedArtifacts(
    options: { stuckAfterMs?: number; recentMs?: number } = {},
  ): Promise<{ removedObjects: number; interruptedUploads: number; purgedModels: number }> {
    const now = Date.now();
    const stuckBefore = new Date(now - (options.stuckAfterMs ?? 3600_000));
    const recentSince = new Date(now - (options.recentMs ?? 7 * 24 * 3600_000));
    const { count: interruptedUploads } = await this.prisma.modelVersion.updateMany({
      where: { status: { in: ['uploading', 'validating'] }, updatedAt: { lt: stuckBefore } },
      data: { status: 'failed', statusReason: 'upload interrupted' },
    });
    let removedObjects = 0;
    const versions = await this.prisma.modelVersion.findMany({
      where: {
        status: { in: ['archived', 'failed'] },
        updatedAt: { gte: recentSince },
        model: { deletedAt: null },
      },
      select: { tenantId: true, modelId: true, number: true },
    });
    for (const version of versions) {
      removedObjects += await this.store.deletePrefix(
        modelVersionPrefix(version.tenantId, version.modelId, version.number),
      );
    }
    const models = await this.prisma.model.findMany({
      where: { deletedAt: { not: null } },
      select: { id: true, tenantId: true },
    });
    for (const model of models) {
      removedObjects += await this.store.deletePrefix(modelPrefix(model.tenantId, model.id));
      await this.prisma.model.delete({ where: { id: model.id } });
    }
    return { removedObjects, interruptedUploads, purgedModels: models.length };
  }

  /** Tenant-facing methods query through the tenant's scoped client, never the bare one. */
  private db(tenantId: string) {
    return this.prisma.forTenant(tenantId);
  }

  private async limitsOf(tenantId: string): Promise<TenantLimits> {
    const tenant = await this.db(tenantId).tenant.findUnique({
      where: { id: tenantId },
      include: { quota: true },
    });
    if (!tenant) throw new RegistryError('NOT_FOUND', 'tenant not found');
    return effectiveLimits(tenant.plan, tenant.quota);
  }
}

export function labelView(label: {
  name: string;
  targets: { weight: number; version: { number: number } }[];
}): LabelView {
  const versions: LabelTargets = {};
  for (const target of [...label.targets].sort((a, b) => a.version.number - b.version.number)) {
    versions[String(target.version.number)] = target.weight;
  }
  return { name: label.name, versions };
}

export type ModelLabelWithTargets = ModelLabel & {
  targets: { weight: number; version: { number: number } }[];
};

function assertValidLabel(label: string): void {
  if (!LABEL_PATTERN.test(label)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `invalid label '${label}': use 1-63 characters of A-Z, a-z, 0-9, '_' and '-'`,
    );
  }
}

function quotaExceeded(limits: TenantLimits, used: number, maxBytes?: number): RegistryError {
  return new RegistryError(
    'PAYLOAD_TOO_LARGE',
    `storage quota exceeded: ${used} of ${limits.storageBytes} bytes are in use` +
      (maxBytes !== undefined ? `, so an upload may hold at most ${maxBytes} bytes` : '') +
      '; delete versions or models, or ask for a larger quota',
  );
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 1000 ? `${message.slice(0, 1000)}…` : message;
}

/** The first non-empty chunk of a body and the rest, without destroying the source. */
async function peekFirstChunk(
  body: Readable | Buffer,
): Promise<{ first: Buffer; rest: AsyncIterator<Buffer> | null }> {
  if (Buffer.isBuffer(body)) return { first: body, rest: null };
  const iterator = body.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { first: Buffer.alloc(0), rest: null };
    const chunk = toBuffer(next.value);
    if (chunk.length > 0) return { first: chunk, rest: iterator };
  }
}

async function* prepend(
  first: Buffer,
  rest: AsyncIterator<unknown> | null,
): AsyncGenerator<Buffer> {
  yield first;
  if (!rest) return;
  try {
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  } finally {
    await rest.return?.();
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('upload bodies must be streams of bytes');
}

function pickWeighted<T extends { weight: number }>(targets: T[]): T {
  const total = targets.reduce((sum, t) => sum + t.weight, 0);
  let point = Math.random() * total;
  for (const target of targets) {
    point -= target.weight;
    if (point < 0) return target;
  }
  return targets[targets.length - 1];
}
