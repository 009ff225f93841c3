import { Inject, Injectable, Optional } from '@nestjs/common';
import { TtlCache } from '@maas/app-runtime';
import {
  pickServableVersion,
  type ResolvedVersion,
  type VersionCandidates,
  VersionResolutionService,
  type VersionSelector,
} from '@maas/model-registry';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/** How long a resolution is reused: label moves and new versions show within this bound. */
const RESOLVE_CACHE_MS = 1000;
/**
 * Past RESOLVE_CACHE_MS a resolution is still served while one request refreshes it in the
 * background, so a hot model never waits on PostgreSQL (a busy pool, an outage); a refresh
 * that keeps failing for a transient reason leaves it in use until STALE_IF_ERROR_MS (gateway
 * config; this default without one) after it was read.
 */
const DEFAULT_STALE_IF_ERROR_MS = 5 * 60_000;

/** The model or version is gone (not a transient failure): nothing stale may be served. */
const isDefinitive = (error: unknown) =>
  ['NOT_FOUND', 'INVALID_ARGUMENT'].includes((error as { code?: string }).code ?? '');

/**
 * The registry's version resolution (explicit, label, `production`, newest ready) for the hot
 * path: the candidate versions and their weights are remembered for a second per (tenant,
 * model, selector) (then served stale while refreshed in the background) and shared by
 * concurrent misses, so inference requests do not each cost several Postgres round trips; the
 * version is drawn from them per request, so a label that splits traffic 80/20 splits it 80/20
 * request by request. Failures are not cached. A change to a model (delete, label, version
 * state) or its tenant drops its entries on every gateway.
 */
@Injectable()
export class VersionResolver {
  private readonly cache: TtlCache<VersionCandidates>;

  constructor(
    private readonly resolution: VersionResolutionService,
    invalidation: CacheInvalidationService,
    @Optional() @Inject(GATEWAY_CONFIG) config?: Pick<GatewayConfig, 'STALE_IF_ERROR_MS'>,
  ) {
    const staleIfError = config?.STALE_IF_ERROR_MS ?? DEFAULT_STALE_IF_ERROR_MS;
    this.cache = new TtlCache<VersionCandidates>(RESOLVE_CACHE_MS, {
      staleMs: Math.max(0, staleIfError - RESOLVE_CACHE_MS),
      isDefinitive,
    });
    invalidation.onInvalidate((event) => {
      if (event.kind === 'model') this.forget(`${event.tenantId}\u0000${event.model}\u0000`);
      if (event.kind === 'tenant') this.forget(`${event.tenantId}\u0000`);
    });
  }

  private forget(keyPrefix: string): void {
    this.cache.deleteWhere((key) => key.startsWith(keyPrefix));
  }

  resolve(tenantId: string, model: string, selector: VersionSelector): Promise<ResolvedVersion> {
    // A quarantined version is cached like any other and answers 503 from here: a tenant
    // hammering it costs no database round trip.
    const key = `${tenantId}\u0000${model}\u0000${JSON.stringify(selector)}`;
    return this.cache
      .get(key, () => this.resolution.resolveCandidates(tenantId, model, selector))
      .then(pickServableVersion);
  }
}
