import {
  type PrivatePostgres,
  type PrivateRedis,
  startPrivatePostgres,
  startPrivateRedis,
  startTestPlatform,
  type TestPlatform,
} from '@maas/testing';

/** A platform on services a fault test may stop, kill and restart; `stop` ends all three. */
export interface PrivatePlatform {
  platform: TestPlatform;
  postgres: PrivatePostgres;
  /** Redis with its append-only file, as deployed. */
  redis: PrivateRedis;
  stop(): Promise<void>;
}

/** Starts a PostgreSQL and a Redis of the test's own, then the platform on them. */
export async function startPrivatePlatform(
  env: NonNullable<Parameters<typeof startTestPlatform>[0]>['env'],
): Promise<PrivatePlatform> {
  const postgres = await startPrivatePostgres();
  const redis = await startPrivateRedis({ appendonly: true }).catch(async (error: unknown) => {
    await postgres.destroy();
    throw error;
  });
  const destroyServices = async () => {
    await postgres.destroy();
    await redis.destroy();
  };
  const platform = await startTestPlatform({
    databaseUrl: postgres.databaseUrl,
    redisUrl: redis.url,
    env,
  }).catch(async (error: unknown) => {
    await destroyServices();
    throw error;
  });
  return {
    platform,
    postgres,
    redis,
    stop: async () => {
      await platform.stop();
      await destroyServices();
    },
  };
}
