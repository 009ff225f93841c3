import type { Server } from 'node:http';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  APP_LOGGER,
  type Logger,
  METRICS_REGISTRY,
  OpsServer,
  READINESS_CHECKS,
  ReadinessFailure,
  type ReadinessCheck,
} from '@maas/app-runtime';
import type { Registry } from 'prom-client';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import { WorkerLinkServer } from '../inference/link-server.js';

/**
 * The worker's /metrics, /healthz and /readyz on OPS_PORT, the one port monitoring and the
 * kubelet reach (PORT and LINK_PORT serve only the gateway). Ready means the dependencies
 * answer and both gateway-facing listeners are open: not yet while starting, no longer once
 * SIGTERM's drain has closed them, while /healthz keeps answering until the process exits.
 */
@Injectable()
export class OpsServerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server: OpsServer;

  constructor(
    @Inject(INFERENCE_CONFIG) config: InferenceConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(READINESS_CHECKS) checks: ReadinessCheck[],
    adapterHost: HttpAdapterHost,
    link: WorkerLinkServer,
  ) {
    const serving: ReadinessCheck = {
      name: 'serving',
      check: async () => {
        const http = adapterHost.httpAdapter.getHttpServer() as Server;
        if (!http.listening) throw new ReadinessFailure('inference port not listening');
        if (!link.listening) throw new ReadinessFailure('worker link not listening');
      },
    };
    this.server = new OpsServer({
      host: config.HOST,
      port: config.OPS_PORT,
      registry,
      checks: [...checks, serving],
    });
  }

  /** The port it listens on (OPS_PORT, or the one the system chose for 0). */
  get port(): number {
    return this.server.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = await this.server.listen();
    this.logger.info({ port }, 'ops listening');
  }

  onApplicationShutdown(): Promise<void> {
    return this.server.close();
  }
}
