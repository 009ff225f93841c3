import { randomUUID } from 'node:crypto';
import { createLogger } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { TRAINING_QUEUE } from '@maas/jobs';
import { testRedisUrl, useTestDatabase } from '@maas/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainerConfig } from '../config/trainer-config.js';
import { LostJobsReconciler } from './lost-jobs.reconciler.js';

// Against the real Postgres and Redis: jobs Redis lost are queued again, once, and only those.
describe('LostJobsReconciler', () => {
  const db = useTestDatabase((url) => new PrismaService({ databaseUrl: url }));
  const prefix = `reconcile-spec-${randomUUID().slice(0, 8)}`;
  let connection: Redis;
  let queue: Queue;

  beforeAll(() => {
    connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue(TRAINING_QUEUE, { connection, prefix: `${prefix}:bull` });
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });

  it('queues again the queued and running jobs that have no BullMQ job, each once', async () => {
    const prisma = db.client;
    const tenant = await prisma.tenant.create({ data: { name: `t-${randomUUID()}` } });
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const job = (status: 'queued' | 'running' | 'succeeded', createdAt: Date) =>
      prisma.trainingJob.create({
        data: {
          tenantId: tenant.id,
          modelName: 'm',
          algorithm: 'mlp',
          task: 'classification',
          target: 'y',
          features: [],
          status,
          createdAt,
        },
      });
    const lostQueued = await job('queued', minutesAgo(5));
    const lostRunning = await job('running', minutesAgo(5));
    const finished = await job('succeeded', minutesAgo(5));
    // Just created: its gateway may still be adding it to the queue.
    const fresh = await job('queued', new Date());
    // Still in the queue: left alone.
    const present = await job('queued', minutesAgo(5));
    await queue.add(
      'train',
      { trainingJobId: present.id, tenantId: tenant.id },
      { jobId: present.id },
    );

    const registry = new Registry();
    const reconciler = new LostJobsReconciler(
      prisma,
      {
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: prefix,
        TRAINER_RECONCILE_MS: 60_000,
      } as TrainerConfig,
      createLogger({ name: 'reconcile-spec', level: 'silent' }),
      registry,
    );
    reconciler.onApplicationBootstrap();
    try {
      expect(await reconciler.reconcile()).toBe(2);
      for (const lost of [lostQueued, lostRunning]) {
        const queued = await queue.getJob(lost.id);
        expect(queued?.name).toBe('train');
        expect(queued?.data).toEqual({ trainingJobId: lost.id, tenantId: tenant.id });
        expect(queued?.opts.attempts).toBe(3);
      }
      for (const untouched of [finished, fresh]) {
        expect(await queue.getJobState(untouched.id)).toBe('unknown');
      }
      // Queued now: the next pass finds nothing to do.
      expect(await reconciler.reconcile()).toBe(0);
      const metric = await registry.getSingleMetric('maas_training_jobs_requeued_total')!.get();
      expect(metric.values[0]?.value).toBe(2);
    } finally {
      await reconciler.onApplicationShutdown();
    }
  });
});
