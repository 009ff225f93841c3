import { Module, type DynamicModule } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { AppCoreModule, HealthModule, type Logger, REDIS } from '@maas/app-runtime';
import { masterKeyFrom, storageConfigFrom } from '@maas/config';
import { PrismaService } from '@maas/db';
import {
  createObjectStore,
  type ObjectStore,
  ModelRegistryModule,
  OBJECT_STORE,
} from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ConsoleModule } from './console/console.module.js';
import { DatasetsModule } from './datasets/datasets.module.js';
import { DocsModule } from './docs/docs.module.js';
import { type GatewayConfig, GatewayConfigModule } from './config/gateway-config.js';
import { InferenceModule } from './inference/inference.module.js';
import { ModelsModule } from './models/models.module.js';
import { modelUploadOptionsFrom } from './models/upload-options.js';
import { QuotasModule } from './quotas/quotas.module.js';
import { TenantsModule } from './tenants/tenants.module.js';
import { UsageModule } from './usage/usage.module.js';
import { TrainingModule } from './training/training.module.js';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        GatewayConfigModule.forRoot(config),
        AppCoreModule.forRoot({ name: 'gateway', config, logger }),
        BullModule.forRoot({
          connection: { url: config.REDIS_URL },
          prefix: `${config.REDIS_PREFIX}:bull`,
        }),
        ModelRegistryModule.forRoot(
          createObjectStore(storageConfigFrom(config)),
          { masterKey: masterKeyFrom(config) },
          modelUploadOptionsFrom(config),
        ),
        HealthModule.forRoot({
          inject: [PrismaService, REDIS, OBJECT_STORE],
          // Inference needs Redis (rate limits fail closed without it) but not PostgreSQL or
          // storage while its caches last (STALE_IF_ERROR_MS): those only make it `degraded`,
          // and the /api routes that need them answer 503 + Retry-After meanwhile.
          factory: (prisma: PrismaService, redis: Redis, store: ObjectStore) => [
            { name: 'postgres', check: () => prisma.check(), required: false },
            { name: 'redis', check: () => redis.ping() },
            { name: 'storage', check: () => store.check(), required: false },
          ],
        }),
        DocsModule,
        ConsoleModule,
        AuthModule,
        AuditModule,
        TenantsModule,
        QuotasModule,
        UsageModule,
        ModelsModule,
        InferenceModule,
        DatasetsModule,
        TrainingModule,
      ],
      global: true,
    };
  }
}
