import { Module, type DynamicModule } from '@nestjs/common';
import { AppCoreModule, HealthModule, type Logger, REDIS } from '@maas/app-runtime';
import { masterKeyFrom, storageConfigFrom } from '@maas/config';
import { PrismaService } from '@maas/db';
import {
  createObjectStore,
  ModelRegistryModule,
  type ObjectStore,
  OBJECT_STORE,
} from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { type TrainerConfig, TrainerConfigModule } from './config/trainer-config.js';
import { TrainJobHandler } from './jobs/train-job.handler.js';
import { WorkerLatencyClient } from './jobs/worker-latency.client.js';
import { VersionOptimizer } from './jobs/version-optimizer.js';
import { LostJobsReconciler } from './jobs/lost-jobs.reconciler.js';
import { TrainingWorkerService } from './jobs/training-worker.service.js';
import { RegistrySweepService } from './maintenance/registry-sweep.service.js';

@Module({})
export class TrainerModule {
  static forRoot(config: TrainerConfig, logger: Logger): DynamicModule {
    return {
      module: TrainerModule,
      imports: [
        TrainerConfigModule.forRoot(config),
        AppCoreModule.forRoot({ name: 'trainer', config, logger }),
        // Trained models are registered exactly like uploads (storage, encryption, quotas).
        ModelRegistryModule.forRoot(createObjectStore(storageConfigFrom(config)), {
          masterKey: masterKeyFrom(config),
        }),
        HealthModule.forRoot({
          inject: [PrismaService, REDIS, OBJECT_STORE],
          factory: (prisma: PrismaService, redis: Redis, store: ObjectStore) => [
            { name: 'postgres', check: () => prisma.check() },
            { name: 'redis', check: () => redis.ping() },
            { name: 'storage', check: () => store.check() },
          ],
        }),
      ],
      providers: [
        TrainJobHandler,
        VersionOptimizer,
        WorkerLatencyClient,
        TrainingWorkerService,
        LostJobsReconciler,
        RegistrySweepService,
      ],
      global: true,
    };
  }
}
