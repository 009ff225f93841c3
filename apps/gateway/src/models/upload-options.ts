import type { ModelUploadOptions } from '@maas/model-registry';
import type { GatewayConfig } from '../config/gateway-config.js';

/** The registry's upload bounds from the gateway's config (docs/deploy.md does the arithmetic). */
export function modelUploadOptionsFrom(config: GatewayConfig): ModelUploadOptions {
  return {
    maxInFlight: config.MAX_UPLOADS_IN_FLIGHT,
    maxInFlightPerTenant: config.MAX_UPLOADS_IN_FLIGHT_PER_TENANT,
    validation: {
      concurrency: config.VALIDATION_CONCURRENCY,
      memoryLimitBytes: config.VALIDATION_MEMORY_LIMIT_BYTES,
      timeoutMs: config.VALIDATION_TIMEOUT_MS,
      unpack: { maxRatio: config.MAX_UNPACK_RATIO, maxBytes: config.MAX_UNPACKED_BYTES },
    },
  };
}
