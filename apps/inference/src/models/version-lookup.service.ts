import { Inject, Injectable } from '@nestjs/common';
import { DomainError, TtlCache } from '@maas/app-runtime';
import { type Model, type ModelVersion, PrismaService } from '@maas/db';
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
    this.cache = new TtlCache(config.VERSION_LOOKUP_TTL_MS);
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

  async markCorrupt(version: ModelVersion, reason: string): Promise<void> {
    await this.prisma.modelVersion.update({
      where: { id: version.id },
      data: { status: 'corrupt', statusReason: reason },
    });
  }
}
