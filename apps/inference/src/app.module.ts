import { Module, type DynamicModule } from '@nestjs/common';
import { AppCoreModule, HealthModule, type Logger } from '@maas/app-runtime';
import { storageConfigFrom } from '@maas/config';
import { PrismaService } from '@maas/db';
import { createObjectStore, type ObjectStore, OBJECT_STORE } from '@maas/model-registry';
import { type InferenceConfig, InferenceConfigModule } from './config/inference-config.js';
import { LatencyBenchmarkService } from './benchmarks/latency-benchmark.service.js';
import { InferenceService } from './inference/inference.service.js';
import { InferenceMetrics } from './inference/inference.metrics.js';
import { GatewayAuthHook } from './inference/gateway-auth.hook.js';
import { WorkerInferenceRoutes } from './inference/worker-inference.routes.js';
import { WorkerLinkServer } from './inference/link-server.js';
import { WorkerOpenInferenceController } from './inference/worker-open-inference.controller.js';
import { ModelCacheService } from './models/model-cache.service.js';
import { configureTfjs, tfjsBackendName } from './models/tfjs-runtime.js';
import { VersionLookupService } from './models/version-lookup.service.js';
import { WorkerHeartbeatService } from './models/worker-heartbeat.service.js';
import { OpsServerService } from './ops/ops-server.service.js';

@Module({})
export class InferenceModule {
  static forRoot(config: InferenceConfig, logger: Logger): DynamicModule {
    configureTfjs(config.TFJS_BACKEND);
    return {
      module: InferenceModule,
      imports: [
        InferenceConfigModule.forRoot(config),
        // /metrics, /healthz and /readyz are on OPS_PORT (OpsServerService), not the HTTP port.
        AppCoreModule.forRoot({ name: 'inference', config, logger, metricsController: false }),
        HealthModule.forRoot({
          inject: [PrismaService, OBJECT_STORE, ModelCacheService],
          factory: (prisma: PrismaService, store: ObjectStore, cache: ModelCacheService) => [
            { name: 'postgres', check: () => prisma.check() },
            { name: 'storage', check: () => store.check() },
            // Named after the TF.js backend tfjs versions run on (tfjs-node-gpu → … → cpu).
            { name: tfjsBackendName(), check: () => cache.tfjsReady() },
          ],
          controller: false,
        }),
      ],
      controllers: [WorkerOpenInferenceController],
      providers: [
        { provide: OBJECT_STORE, useValue: createObjectStore(storageConfigFrom(config)) },
        VersionLookupService,
        InferenceMetrics,
        ModelCacheService,
        WorkerHeartbeatService,
        GatewayAuthHook,
        WorkerInferenceRoutes,
        WorkerLinkServer,
        InferenceService,
        OpsServerService,
        LatencyBenchmarkService,
      ],
      // (ModelCacheService: the readiness check above asks it whether TF.js is up.)
      exports: [OBJECT_STORE, ModelCacheService],
      global: true,
    };
  }
}
