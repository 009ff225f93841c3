import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import type { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { modelPrefix, modelVersionPrefix, tenantPrefix } from '../storage/storage-keys.js';
import { OBJECT_STORE, TENANT_DATA_KEYS } from './registry.tokens.js';

/**
 * Removes stored bytes nothing refers to any more: a deleted tenant's, and whatever a crash
 * left behind. The sweep is the one registry operation that acts across tenants.
 */
@Injectable()
export class RegistryMaintenanceService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(TENANT_DATA_KEYS) private readonly dataKeys: TenantDataKeys,
  ) {}

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
}
