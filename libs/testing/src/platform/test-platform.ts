import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../database/test-database.js';
import { AppProcess } from './app-process.js';
import { freePort } from './free-port.js';

export interface TestPlatform {
  gateway: AppProcess;
  inference: AppProcess;
  trainer: AppProcess;
  database: TestDatabase;
  redisUrl: string;
  storageRoot: string;
  admin: { email: string; password: string };
  /** WORKER_SECRET the gateway and the worker share (random per platform). */
  workerSecret: string;
  stop(): Promise<void>;
}

/**
 * Redis for one test file: the server from TEST_REDIS_URL, with a database index of its own per
 * vitest worker so that parallel files never share queues or keys.
 */
export function testRedisUrl(): string {
  const base = process.env.TEST_REDIS_URL;
  if (!base) throw new Error('TEST_REDIS_URL is not set: run the suite with scripts/test.sh');
  const index = 1 + (Number(process.env.VITEST_POOL_ID ?? '0') % 15);
  return `${base.replace(/\/\d*$/, '')}/${index}`;
}

/** The whole platform as real processes: a fresh database, Redis, a temporary object store. */
export async function startTestPlatform(
  options: {
    env?: Partial<Record<'gateway' | 'inference' | 'trainer', Record<string, string>>>;
    /**
     * A database of the test's own (e.g. startPrivatePostgres's, for outage tests) instead of a
     * fresh copy of the template on TEST_DATABASE_URL; the platform does not drop it.
     */
    databaseUrl?: string;
    /** A Redis of the test's own (e.g. startPrivateRedis's) instead of TEST_REDIS_URL's. */
    redisUrl?: string;
    /** Another checkout whose apps (built there) run instead of this one's (see AppProcess). */
    appRoot?: string;
  } = {},
): Promise<TestPlatform> {
  const database: TestDatabase = options.databaseUrl
    ? { url: options.databaseUrl, drop: async () => {} }
    : await createTestDatabase();
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const storageRoot = await mkdtemp(join(tmpdir(), 'maas-store-'));
  const admin = { email: 'admin@test.local', password: 'admin-password-123' };
  const common = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    // Every platform gets its own key space, so parallel suites never share queues or limits.
    REDIS_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    STORAGE_DRIVER: 'fs',
    STORAGE_FS_ROOT: storageRoot,
    LOG_LEVEL: 'info',
  };
  const [gatewayPort, inferencePort, trainerPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
  ]);
  // Gateway ↔ worker traffic is authenticated with it; a test's env may override either side.
  const workerSecret = randomBytes(32).toString('hex');
  const inference = new AppProcess(
    'inference',
    inferencePort,
    { ...common, WORKER_SECRET: workerSecret, ...options.env?.inference },
    options.appRoot,
  );
  const trainer = new AppProcess(
    'trainer',
    trainerPort,
    { ...common, ...options.env?.trainer },
    options.appRoot,
  );
  const gateway = new AppProcess(
    'gateway',
    gatewayPort,
    {
      ...common,
      MAAS_ADMIN_EMAIL: admin.email,
      MAAS_ADMIN_PASSWORD: admin.password,
      JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long',
      WORKER_SECRET: workerSecret,
      INFERENCE_WORKER_URL: inference.url,
      ...options.env?.gateway,
    },
    options.appRoot,
  );
  const started: AppProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((app) => app.stop()));
    await database.drop();
    await rm(storageRoot, { recursive: true, force: true });
  };
  try {
    for (const app of [inference, trainer, gateway]) {
      started.push(app);
      await app.start();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    gateway,
    inference,
    trainer,
    database,
    redisUrl,
    storageRoot,
    admin,
    workerSecret,
    stop,
  };
}
