import { Module, type DynamicModule } from '@nestjs/common';
import { HealthModule, type Logger, MetricsModule, REDIS, RedisModule } from '@maas/app-runtime';
import { databaseOptionsFrom, masterKeyFrom, storageConfigFrom } from '@maas/config';
import { DbModule, PrismaService } from '@maas/db';
import {
  createObjectStore,
  ModelRegistryModule,
  type ObjectStore,
  OBJECT_STORE,
} from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { type TrainerConfig, TrainerConfigModule } from './config/trainer-config.js';
import { TRAINER_LOGGER, TrainJobHandler } from './jobs/train-job.handler.js';
import { TrainingWorkerService } from './jobs/training-worker.service.js';
import { RegistrySweepService } from './maintenance/registry-sweep.service.js';

@Module({})
export class TrainerModule {
  static forRoot(config: TrainerConfig, logger: Logger): DynamicModule {
    return {
      module: TrainerModule,
      imports: [
        TrainerConfigModule.forRoot(config),
        MetricsModule.forRoot('trainer'),
        DbModule.forRoot(databaseOptionsFrom(config)),
        RedisModule.forRoot(config.REDIS_URL, 'trainer'),
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
        { provide: TRAINER_LOGGER, useValue: logger },
        TrainJobHandler,
        TrainingWorkerService,
        RegistrySweepService,
      ],
      global: true,
    };
  }
}
