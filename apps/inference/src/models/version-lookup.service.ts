import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
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
export class VersionLookupService implements OnModuleInit {
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

  /**
   * Runs the lookup's query once before the worker takes traffic: Prisma plans a query the
   * first time its process sees it (~100-200 ms of CPU), which the first requests routed to a
   * freshly started worker would otherwise wait for. Bounded, and never fatal: a worker that
   * starts during a database outage starts all the same.
   */
  async onModuleInit(): Promise<void> {
    const warm = this.load('00000000-0000-0000-0000-000000000000', 'warm-up', 1).catch(
      () => undefined,
    );
    await Promise.race([warm, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
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
    // One query, not a findUnique each for the model and the version: Prisma spends
    // milliseconds of this loop's CPU per query, and a flood of cold versions costs one each.
    const found = await this.prisma.modelVersion.findFirst({
      where: { tenantId, number, model: { tenantId, name: modelName, deletedAt: null } },
      include: { model: { select: { id: true, name: true } } },
    });
    if (!found || found.status !== 'ready') {
      throw new DomainError('NOT_FOUND', `version ${number} of model '${modelName}' not found`);
    }
    const { model, ...version } = found;
    return { model, version };
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
