import { Module, type DynamicModule } from '@nestjs/common';
import { databaseOptionsFrom } from '@maas/config';
import { DbModule } from '@maas/db';
import { APP_LOGGER, type Logger } from './logger.js';
import { MetricsModule } from './metrics.js';
import { RedisModule } from './redis.module.js';

export interface AppCoreOptions {
  /** The app's name: the `app` label of its metrics and its Redis connection's name. */
  name: string;
  /** The app's validated config (sharedConfigShape): where PostgreSQL and Redis are. */
  config: Parameters<typeof databaseOptionsFrom>[0] & { REDIS_URL: string };
  logger: Logger;
  /** false leaves /metrics off the app's HTTP port, for an app that serves it on an ops port. */
  metricsController?: boolean;
}

/**
 * What every app's root module starts with, global like each part of it: the app's logger
 * (APP_LOGGER), HTTP metrics, PostgreSQL (PrismaService) and the shared Redis client (REDIS).
 */
@Module({})
export class AppCoreModule {
  static forRoot(options: AppCoreOptions): DynamicModule {
    return {
      module: AppCoreModule,
      global: true,
      imports: [
        MetricsModule.forRoot(options.name, { controller: options.metricsController }),
        DbModule.forRoot(databaseOptionsFrom(options.config)),
        RedisModule.forRoot(options.config.REDIS_URL, options.name),
      ],
      providers: [{ provide: APP_LOGGER, useValue: options.logger }],
      exports: [APP_LOGGER],
    };
  }
}
