import { Inject, Injectable } from '@nestjs/common';
import { DomainError, TtlCache } from '@maas/app-runtime';
import { type Model, type ModelVersion, PrismaService } from '@maas/db';
import { MODEL_NAME_PATTERN } from '@maas/model-registry';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';

export interface ServableVersion {
  model: Pick<Model, 'id' | 'name'>;
  version: ModelVersion;
}

/**
 * Finds the ready version a request names, in the tenant the gateway vouched for. Cached
 * briefly: the hot path should not hit Postgres, and a version that stops serving (archived,
 * corrupt) stops within the TTL.
 */
@Injectable()
export class VersionLookupService {
  private readonly cache: TtlCache<ServableVersion>;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(INFERENCE_CONFIG) config: InferenceConfig,
  ) {
    // Stale-if-error: a loaded version keeps serving through a database outage (refreshed in
    // the background); NOT_FOUND is definitive, so a version that stopped serving stops here.
    this.cache = new TtlCache(config.VERSION_LOOKUP_TTL_MS, {
      staleMs: config.STALE_IF_ERROR_MS ?? 0,
      // A serving-config change, a quarantine or a delete is seen within the TTL; the stale
      // record answers only while PostgreSQL cannot.
      staleIf: 'error',
      isDefinitive: (error) => (error as { code?: string }).code === 'NOT_FOUND',
    });
  }

  find(tenantId: string, modelName: string, number: number): Promise<ServableVersion> {
    return this.cache.get(`${tenantId}/${modelName}/${number}`, () =>
      this.load(tenantId, modelName, number),
    );
  }

  private async load(
    tenantId: string,
    modelName: string,
    number: number,
  ): Promise<ServableVersion> {
    // No model has such a name (the registry enforces it), and PostgreSQL refuses a NUL byte.
    if (!MODEL_NAME_PATTERN.test(modelName)) {
      throw new DomainError('NOT_FOUND', `version ${number} of model '${modelName}' not found`);
    }
    const model = await this.prisma.model.findUnique({
      where: { tenantId_name: { tenantId, name: modelName } },
      select: { id: true, name: true, deletedAt: true },
    });
    const version =
      model && !model.deletedAt
        ? await this.prisma.modelVersion.findUnique({
            where: { modelId_number: { modelId: model.id, number } },
          })
        : null;
    if (!model || !version || version.status !== 'ready') {
      throw new DomainError('NOT_FOUND', `version ${number} of model '${modelName}' not found`);
    }
    return { model: { id: model.id, name: model.name }, version };
  }

  forget(tenantId: string, modelName: string, number: number): void {
    this.cache.delete(`${tenantId}/${modelName}/${number}`);
  }

  /** A ready version the worker refuses to load (its bytes fail validation): never served. */
  async markFailed(version: ModelVersion, reason: string): Promise<void> {
    await this.prisma.modelVersion.updateMany({
      where: { id: version.id, status: 'ready' },
      data: { status: 'failed', statusReason: reason },
    });
  }

  /**
   * A version whose bytes failed their integrity check (sha256, decryption) stops serving.
   * Only while it is still ready: a load that raced a delete (archived, bytes gone) must not
   * bring the row back as `corrupt`. True when this call marked it.
   */
  async markCorrupt(version: ModelVersion, reason: string): Promise<boolean> {
    const { count } = await this.prisma.modelVersion.updateMany({
      where: { id: version.id, status: 'ready' },
      data: { status: 'corrupt', statusReason: reason },
    });
    return count === 1;
  }
}
