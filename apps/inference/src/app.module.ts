import { Module, type DynamicModule } from '@nestjs/common';
import { HealthModule, type Logger, MetricsModule } from '@maas/app-runtime';
import { storageConfigFrom } from '@maas/config';
import { DbModule, PrismaService } from '@maas/db';
import { createObjectStore, type ObjectStore, OBJECT_STORE } from '@maas/model-registry';
import { type InferenceConfig, InferenceConfigModule } from './config/inference-config.js';
import { InferenceService } from './inference/inference.service.js';
import { V2Controller } from './inference/v2.controller.js';
import { INFERENCE_LOGGER, ModelCacheService } from './models/model-cache.service.js';
import { VersionLookupService } from './models/version-lookup.service.js';

@Module({})
export class InferenceModule {
  static forRoot(config: InferenceConfig, logger: Logger): DynamicModule {
    return {
      module: InferenceModule,
      imports: [
        InferenceConfigModule.forRoot(config),
        MetricsModule.forRoot('inference'),
        DbModule.forRoot({ databaseUrl: config.DATABASE_URL }),
        HealthModule.forRoot({
          inject: [PrismaService, OBJECT_STORE],
          factory: (prisma: PrismaService, store: ObjectStore) => [
            { name: 'postgres', check: () => prisma.check() },
            { name: 'storage', check: () => store.check() },
          ],
        }),
      ],
      controllers: [V2Controller],
      providers: [
        { provide: INFERENCE_LOGGER, useValue: logger },
        { provide: OBJECT_STORE, useValue: createObjectStore(storageConfigFrom(config)) },
        VersionLookupService,
        ModelCacheService,
        InferenceService,
      ],
      exports: [OBJECT_STORE],
      global: true,
    };
  }
}
