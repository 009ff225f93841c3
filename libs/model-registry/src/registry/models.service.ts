import { Inject, Injectable } from '@nestjs/common';
import { type Model, PrismaService } from '@maas/db';
import type { ObjectStore } from '../storage/object-store.js';
import { modelPrefix } from '../storage/storage-keys.js';
import { assertValidModelName } from '../validation/model-name.js';
import { assertPossibleModelName, tenantLimits } from './registry.helper.js';
import { modelNotFound, RegistryError } from './registry.errors.js';
import { OBJECT_STORE } from './registry.tokens.js';

/** A tenant's models: created within its model limit, listed, read, changed, deleted. */
@Injectable()
export class ModelsService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  async createModel(
    tenantId: string,
    input: { name: string; description?: string; metadata?: Record<string, unknown> },
  ): Promise<Model> {
    assertValidModelName(input.name);
    const limits = await tenantLimits(this.prisma, tenantId);
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
   * there is left to RegistryMaintenanceService.sweepDeletedArtifacts.
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

  /** Tenant-facing methods query through the tenant's scoped client, never the bare one. */
  private db(tenantId: string) {
    return this.prisma.forTenant(tenantId);
  }
}
