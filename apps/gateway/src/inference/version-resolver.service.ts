import { Injectable } from '@nestjs/common';
import {
  ModelRegistryService,
  pickVersion,
  type ResolvedVersion,
  type VersionCandidates,
  type VersionSelector,
} from '@maas/model-registry';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';

/** How long a resolution is reused: label moves and new versions show within this bound. */
const RESOLVE_CACHE_MS = 1000;
const MAX_ENTRIES = 10_000;

/**
 * The registry's version resolution (explicit, label, `production`, newest ready) for the hot
 * path: the candidate versions and their weights are remembered for a second per (tenant,
 * model, selector) and shared by concurrent misses, so inference requests do not each cost
 * several Postgres round trips; the version is drawn from them per request, so a label that
 * splits traffic 80/20 splits it 80/20 request by request. Failures are not cached. A change to
 * a model (delete, label, version state) or its tenant drops its entries on every gateway.
 */
@Injectable()
export class VersionResolver {
  private readonly cache = new Map<string, { at: number; value: Promise<VersionCandidates> }>();

  constructor(
    private readonly registry: ModelRegistryService,
    invalidation: CacheInvalidationService,
  ) {
    invalidation.onInvalidate((event) => {
      if (event.kind === 'model') this.forget(`${event.tenantId}\u0000${event.model}\u0000`);
      if (event.kind === 'tenant') this.forget(`${event.tenantId}\u0000`);
    });
  }

  private forget(keyPrefix: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(keyPrefix)) this.cache.delete(key);
  }

  resolve(tenantId: string, model: string, selector: VersionSelector): Promise<ResolvedVersion> {
    return this.candidates(tenantId, model, selector).then(pickVersion);
  }

  private candidates(
    tenantId: string,
    model: string,
    selector: VersionSelector,
  ): Promise<VersionCandidates> {
    const key = `${tenantId}\u0000${model}\u0000${JSON.stringify(selector)}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < RESOLVE_CACHE_MS) return hit.value;
    const value = this.registry.resolveCandidates(tenantId, model, selector);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, { at: now, value });
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    return value;
  }
}
