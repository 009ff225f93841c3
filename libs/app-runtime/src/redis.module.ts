import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';

export const REDIS = Symbol('REDIS');

/** Closes the shared client last, after the app has drained. */
@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export function createRedis(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    // Fail commands fast while Redis is down instead of queueing them without bound.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    lazyConnect: false,
    // Commands issued in the same tick go out in one write: under load the gateway's
    // per-request limit call was otherwise a write syscall each (bench/serving/profile.mjs).
    enableAutoPipelining: true,
    // Scripts are not: their callers (the rate limiter's take, the usage push) already send one
    // call per event-loop turn for every request of that turn, and auto-pipelining one command
    // costs a pipeline of its own (~50 µs of CPU per call at low concurrency, where each request
    // is a turn: bench/serving/settings-cost.mjs).
    autoPipeliningIgnoredCommands: ['evalsha', 'eval'],
  });
}

@Module({})
export class RedisModule {
  static forRoot(url: string, connectionName: string): DynamicModule {
    return {
      module: RedisModule,
      global: true,
      providers: [
        { provide: REDIS, useFactory: () => createRedis(url, connectionName) },
        RedisCloser,
      ],
      exports: [REDIS],
    };
  }
}
