import { Injectable } from '@nestjs/common';
import {
  ModelRegistryService,
  pickServableVersion,
  type ResolvedVersion,
  type VersionCandidates,
  type VersionSelector,
} from '@maas/model-registry';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';

/** How long a resolution is reused: label moves and new versions show within this bound. */
const RESOLVE_CACHE_MS = 1000;
/**
 * Past RESOLVE_CACHE_MS a resolution is still served while one request refreshes it in the
 * background, so a hot model never waits on PostgreSQL (a busy pool, an outage); a refresh
 * that keeps failing for a transient reason leaves it in use for at most this long.
 */
const STALE_IF_ERROR_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  at: number;
  value: Promise<VersionCandidates>;
  /** the resolved value, once there is one (what a stale entry serves) */
  settled?: VersionCandidates;
  refreshing?: boolean;
}

/** The model or version is gone (not a transient failure): nothing stale may be served. */
const isDefinitive = (error: unknown) =>
  ['NOT_FOUND', 'INVALID_ARGUMENT'].includes((error as { code?: string }).code ?? '');

/**
 * The registry's version resolution (explicit, label, `production`, newest ready) for the hot
 * path: the candidate versions and their weights are remembered for a second per (tenant,
 * model, selector) (then served stale while refreshed in the background) and shared by
 * concurrent misses, so inference requests do not each cost
 * several Postgres round trips; the version is drawn from them per request, so a label that
 * splits traffic 80/20 splits it 80/20 request by request. Failures are not cached. A change to
 * a model (delete, label, version state) or its tenant drops its entries on every gateway.
 */
@Injectable()
export class VersionResolver {
  private readonly cache = new Map<string, Entry>();

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
    // A quarantined version is cached like any other and answers 503 from here: a tenant
    // hammering it costs no database round trip.
    return this.candidates(tenantId, model, selector).then(pickServableVersion);
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
    if (hit?.settled && now - hit.at < STALE_IF_ERROR_MS) {
      if (!hit.refreshing) this.refresh(key, hit, tenantId, model, selector);
      return hit.value;
    }
    const value = this.registry.resolveCandidates(tenantId, model, selector);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const entry: Entry = { at: now, value };
    this.cache.set(key, entry);
    value.then(
      (settled) => (entry.settled = settled),
      () => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
      },
    );
    return value;
  }

  private refresh(
    key: string,
    stale: Entry,
    tenantId: string,
    model: string,
    selector: VersionSelector,
  ): void {
    stale.refreshing = true;
    this.registry.resolveCandidates(tenantId, model, selector).then(
      (settled) => {
        if (this.cache.get(key) !== stale) return; // invalidated meanwhile
        this.cache.set(key, { at: Date.now(), value: Promise.resolve(settled), settled });
      },
      (error: unknown) => {
        stale.refreshing = false;
        if (isDefinitive(error) && this.cache.get(key) === stale) this.cache.delete(key);
      },
    );
  }
}
