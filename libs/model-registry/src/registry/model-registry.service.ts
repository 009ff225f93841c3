import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { type Model, type ModelVersion, PrismaService } from '@maas/db';
import type { ObjectStore } from '../storage/object-store.js';
import { modelArtifactKey } from '../storage/storage-keys.js';
import { assertValidModelName } from '../validation/model-name.js';
import { inspectOnnxModel } from '../validation/onnx-inspector.js';
import { modelNotFound, RegistryError, versionNotFound } from './registry.errors.js';

export const OBJECT_STORE = Symbol('OBJECT_STORE');

export type ModelFormatName = 'onnx' | 'tfjs';

export interface VersionUpload {
  format: ModelFormatName;
  body: Readable | Buffer;
  maxBytes: number;
  /** "user:<id>" or "api-key:<id>" */
  createdBy: string;
}

export interface VersionSelector {
  version?: number;
  label?: string;
}

export interface ResolvedVersion {
  model: Model;
  version: ModelVersion;
}

const DEFAULT_LABEL = 'production';
const LABEL_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * The record of what each tenant can serve. Every method takes the tenant id first and every
 * query is filtered by it, so a foreign model is indistinguishable from a missing one.
 */
@Injectable()
export class ModelRegistryService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  async createModel(
    tenantId: string,
    input: { name: string; description?: string; metadata?: Record<string, unknown> },
  ): Promise<Model> {
    assertValidModelName(input.name);
    const existing = await this.prisma.model.findUnique({
      where: { tenantId_name: { tenantId, name: input.name } },
    });
    if (existing) throw new RegistryError('ALREADY_EXISTS', `model '${input.name}' already exists`);
    try {
      return await this.prisma.model.create({
        data: {
          tenantId,
          name: input.name,
          description: input.description ?? '',
          metadata: (input.metadata ?? {}) as object,
        },
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
    const rows = await this.prisma.model.findMany({
      where: { tenantId, deletedAt: null, ...(page.cursor ? { name: { gt: page.cursor } } : {}) },
      orderBy: { name: 'asc' },
      take: page.limit + 1,
    });
    const items = rows.slice(0, page.limit);
    return { items, nextCursor: rows.length > page.limit ? items[items.length - 1].name : null };
  }

  async getModel(tenantId: string, name: string): Promise<Model> {
    const model = await this.prisma.model.findUnique({
      where: { tenantId_name: { tenantId, name } },
    });
    if (!model || model.deletedAt) throw modelNotFound(name);
    return model;
  }

  async listVersions(tenantId: string, name: string): Promise<ModelVersion[]> {
    const model = await this.getModel(tenantId, name);
    return this.prisma.modelVersion.findMany({
      where: { tenantId, modelId: model.id },
      orderBy: { number: 'asc' },
    });
  }

  async getVersion(tenantId: string, name: string, number: number): Promise<ModelVersion> {
    const model = await this.getModel(tenantId, name);
    const version = await this.prisma.modelVersion.findUnique({
      where: { modelId_number: { modelId: model.id, number } },
    });
    if (!version || version.tenantId !== tenantId) throw versionNotFound(name, number);
    return version;
  }

  /**
   * Streams an artifact to storage, validates it by loading it, and records its signature.
   * A number is taken atomically; an artifact that is too large or not a model leaves neither
   * bytes nor a row behind.
   */
  async uploadVersion(
    tenantId: string,
    name: string,
    upload: VersionUpload,
  ): Promise<ModelVersion> {
    if (upload.format !== 'onnx') {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `format '${upload.format}' is not supported yet; use onnx`,
      );
    }
    const model = await this.getModel(tenantId, name);
    const [{ number }] = await this.prisma.$queryRaw<{ number: number }[]>`
      UPDATE models SET next_version = next_version + 1, updated_at = now()
      WHERE id = ${model.id}::uuid
      RETURNING next_version - 1 AS number`;
    const artifactKey = modelArtifactKey(tenantId, model.id, number, 'model.onnx');
    const version = await this.prisma.modelVersion.create({
      data: {
        tenantId,
        modelId: model.id,
        number,
        format: upload.format,
        artifactKey,
        status: 'uploading',
        createdBy: upload.createdBy,
      },
    });
    try {
      const stored = await this.store.put(artifactKey, upload.body, {
        maxBytes: upload.maxBytes,
        contentType: 'application/octet-stream',
      });
      await this.prisma.modelVersion.update({
        where: { id: version.id },
        data: { status: 'validating', sha256: stored.sha256, sizeBytes: BigInt(stored.sizeBytes) },
      });
      const signature = await inspectOnnxModel(await this.store.getBuffer(artifactKey));
      return await this.prisma.modelVersion.update({
        where: { id: version.id },
        data: {
          status: 'ready',
          inputs: signature.inputs as object[],
          outputs: signature.outputs as object[],
        },
      });
    } catch (error) {
      await this.store.delete(artifactKey).catch(() => undefined);
      await this.prisma.modelVersion.delete({ where: { id: version.id } }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Which version serves a request: the explicit one, else the label's (weighted when it
   * splits traffic), else label `production`, else the newest ready version.
   */
  async resolveVersion(
    tenantId: string,
    name: string,
    selector: VersionSelector,
  ): Promise<ResolvedVersion> {
    const model = await this.getModel(tenantId, name);
    if (selector.version !== undefined) {
      const version = await this.prisma.modelVersion.findUnique({
        where: { modelId_number: { modelId: model.id, number: selector.version } },
      });
      if (!version || version.status !== 'ready') throw versionNotFound(name, selector.version);
      return { model, version };
    }
    if (selector.label !== undefined && !LABEL_PATTERN.test(selector.label)) {
      throw new RegistryError('INVALID_ARGUMENT', `invalid label '${selector.label}'`);
    }
    const labelName = selector.label ?? DEFAULT_LABEL;
    const label = await this.prisma.modelLabel.findUnique({
      where: { modelId_name: { modelId: model.id, name: labelName } },
      include: { targets: { include: { version: true } } },
    });
    const targets =
      label?.targets.filter((t) => t.version.status === 'ready' && t.weight > 0) ?? [];
    if (targets.length > 0) return { model, version: pickWeighted(targets).version };
    if (selector.label !== undefined) {
      throw new RegistryError(
        'NOT_FOUND',
        `label '${selector.label}' of model '${name}' not found`,
      );
    }
    const newest = await this.prisma.modelVersion.findFirst({
      where: { modelId: model.id, status: 'ready' },
      orderBy: { number: 'desc' },
    });
    if (!newest) throw new RegistryError('NOT_FOUND', `model '${name}' has no ready version`);
    return { model, version: newest };
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
