import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@maas/app-runtime';
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
  private readonly cache = new Map<string, { value: ServableVersion; at: number }>();

  constructor(
    private readonly prisma: PrismaService,
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
  ) {}

  async find(tenantId: string, modelName: string, number: number): Promise<ServableVersion> {
    const cacheKey = `${tenantId}/${modelName}/${number}`;
    const cached = this.cache.get(cacheKey);
    if (cached && Date.now() - cached.at < this.config.VERSION_LOOKUP_TTL_MS) return cached.value;
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
      this.cache.delete(cacheKey);
      throw new DomainError('NOT_FOUND', `version ${number} of model '${modelName}' not found`);
    }
    const value = { model: { id: model.id, name: model.name }, version };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { value, at: Date.now() });
    return value;
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
