import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_LOGGER, type Logger, METRICS_REGISTRY } from '@maas/app-runtime';
import { Counter, type Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { InferenceWorkerClient, workerPath } from './inference-worker.client.js';
import type { WorkerTarget } from './worker-directory.service.js';
import { WorkerLinkClient } from './worker-link.client.js';

/** How long after asking a worker to load a version it may be asked again while still cold. */
export const WARM_RETRY_MS = 5000;
/** (worker, version) pairs remembered before the record starts over. */
const MAX_REMEMBERED = 10_000;

/** The version to warm, as a request for it named it. */
export interface VersionToWarm {
  tenantId: string;
  model: string;
  version: number;
  versionId: string;
  requestId: string;
}

/**
 * Warms the replicas WorkerDirectory.route lists as cold: each is sent a `load` over its link,
 * or `POST /v2/models/{m}/versions/{v}/load` over signed HTTP with INFERENCE_TRANSPORT=http (the
 * worker loads the version through its usual memory budget and load slots, and answers 204),
 * while the requests go to a worker that has the version loaded. The worker's next
 * heartbeat lists the version, and it takes its share of requests from then on, so none of
 * them waits for a cold load. Asks each worker at most once per WARM_RETRY_MS for a version
 * (a load that failed, or was refused for memory, is tried again then, never per request). A
 * tenant can cause no load this way that its requests would not: only its own versions' own
 * replicas are warmed, and only when a request for the version arrives.
 */
@Injectable()
export class ReplicaWarmer {
  private readonly asked = new Map<string, number>();
  private readonly preloads: Counter<'result'>;

  constructor(
    private readonly link: WorkerLinkClient,
    private readonly http: InferenceWorkerClient,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'INFERENCE_TRANSPORT'>,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS_REGISTRY) metrics?: Registry,
  ) {
    this.preloads = new Counter({
      name: 'maas_gateway_replica_preloads_total',
      help: "Versions a gateway asked a cold replica to load before routing to it: loaded (204), refused (the worker's answer, e.g. no memory), failed (no answer)",
      labelNames: ['result'],
      registers: metrics ? [metrics] : [],
    });
  }

  warm(targets: readonly WorkerTarget[], version: VersionToWarm): void {
    const now = performance.now();
    for (const target of targets) {
      // By worker process (a restarted one at the same URL is a new id, and cold).
      const key = `${target.id ?? target.url} ${version.versionId}`;
      const askedAt = this.asked.get(key);
      if (askedAt !== undefined && now - askedAt < WARM_RETRY_MS) continue;
      if (this.asked.size >= MAX_REMEMBERED) this.asked.clear();
      this.asked.set(key, now);
      this.load(target, version).then(
        ({ status, detail }) => {
          if (status === 204) {
            this.preloads.inc({ result: 'loaded' });
            return;
          }
          this.preloads.inc({ result: 'refused' });
          this.logger.debug(
            { worker: target.url, versionId: version.versionId, status },
            `replica preload refused: ${detail}`,
          );
        },
        (error: unknown) => {
          this.preloads.inc({ result: 'failed' });
          this.logger.debug(
            { worker: target.url, versionId: version.versionId, err: error },
            'replica preload failed',
          );
        },
      );
    }
  }

  /** Sends the `load` over the transport requests take; the worker's status and error text. */
  private async load(
    target: WorkerTarget,
    version: VersionToWarm,
  ): Promise<{ status: number; detail: string }> {
    if (this.config.INFERENCE_TRANSPORT === 'link' && target.link) {
      const { meta, body } = await this.link.load(target.link, {
        tenant: version.tenantId,
        model: version.model,
        version: version.version,
        requestId: version.requestId,
      });
      return { status: meta.status, detail: body.toString('utf8', 0, 500) };
    }
    const response = await this.http.forward({
      origin: target.url,
      method: 'POST',
      path: workerPath(version.model, version.version, 'load'),
      headers: { 'x-request-id': version.requestId, 'x-maas-tenant-id': version.tenantId },
    });
    const text = await response.body.text();
    return { status: response.statusCode, detail: text.slice(0, 500) };
  }
}
