import { Module, type DynamicModule } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { HealthModule, type Logger, MetricsModule, REDIS, RedisModule } from '@maas/app-runtime';
import { storageConfigFrom } from '@maas/config';
import { DbModule, PrismaService } from '@maas/db';
import { TRAINING_QUEUE } from '@maas/jobs';
import { createObjectStore, type ObjectStore, OBJECT_STORE } from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { type TrainerConfig, TrainerConfigModule } from './config/trainer-config.js';
import { TRAINER_LOGGER, TrainingProcessor } from './jobs/training.processor.js';

@Module({})
export class TrainerModule {
  static forRoot(config: TrainerConfig, logger: Logger): DynamicModule {
    return {
      module: TrainerModule,
      imports: [
        TrainerConfigModule.forRoot(config),
        MetricsModule.forRoot('trainer'),
        DbModule.forRoot({ databaseUrl: config.DATABASE_URL }),
        RedisModule.forRoot(config.REDIS_URL, 'trainer'),
        // BullMQ workers need blocking connections that never give up retrying.
        BullModule.forRoot({
          connection: { url: config.REDIS_URL, maxRetriesPerRequest: null },
          prefix: `${config.REDIS_PREFIX}:bull`,
        }),
        BullModule.registerQueue({ name: TRAINING_QUEUE }),
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
        { provide: OBJECT_STORE, useValue: createObjectStore(storageConfigFrom(config)) },
        TrainingProcessor,
      ],
      exports: [OBJECT_STORE],
      global: true,
    };
  }
}
