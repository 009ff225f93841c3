import type { PrivatePostgres, PrivateRedis, TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePlatform, startPrivatePlatform } from './private-platform-helpers.js';
import {
  type Api,
  apiFor,
  createTenant,
  finished,
  type JobView,
  readSse,
  startTrainingJob,
  syntheticCsv,
  uploadDataset,
  waitFor,
  waitForJob,
} from './training-helpers.js';

/**
 * The trainer's dependencies failing under a running training job, on a PostgreSQL and a Redis
 * of this file's own (Redis with its append-only file, as deployed): each fault must leave the
 * job finished once, `succeeded`, with one model version.
 */

/** Long enough to be caught mid-run (a few seconds of epochs), short enough for two cores. */
const HYPERPARAMETERS = { hiddenLayers: [16], epochs: 300, batchSize: 8 };
const REDIS_DOWN_MS = 2_000;
const POSTGRES_DOWN_MS = 5_000;

describe('trainer faults: Redis restart and PostgreSQL outage mid-job', () => {
  let postgres: PrivatePostgres;
  let redis: PrivateRedis;
  let platform: TestPlatform;
  let services: PrivatePlatform;
  let api: Api;
  let key: string;
  let datasetId: string;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const startJob = async (modelName: string) => {
    const job = await startTrainingJob(api, key, {
      datasetId,
      target: 'cls',
      algorithm: 'mlp',
      task: 'classification',
      modelName,
      hyperparameters: HYPERPARAMETERS,
    });
    return job.id;
  };

  /**
   * The job as a client sees it once it has finished after the fault: the job, its model's
   * versions and its state changes, logged with the fault's own figures.
   */
  const outcomeOf = async (
    id: string,
    modelName: string,
    fault: string,
    figures: Record<string, unknown>,
  ) => {
    const job = await waitForJob(api, key, id, finished, 240_000);
    const versions = await api(`/api/models/${modelName}/versions`, {
      headers: { 'x-api-key': key },
    });
    expect(versions.status).toBe(200);
    const events = await readSse(
      await api(`/api/training-jobs/${id}/events`, { headers: { 'x-api-key': key } }),
    );
    const states = events.filter((e) => e.event === 'state').map((e) => e.data.status as string);
    const { items } = (await versions.json()) as { items: unknown[] };
    console.log(
      `[trainer-faults] ${fault}`,
      JSON.stringify({
        ...figures,
        status: job.status,
        attempts: job.attempts,
        trainingSeconds: job.trainingSeconds,
        versions: items.length,
        states,
      }),
    );
    return { job, versions: items, states };
  };

  /** Finished once: `succeeded`, one version of the model, never `failed` on the way. */
  const expectFinishedOnce = (
    job: JobView,
    modelName: string,
    { versions, states }: { versions: unknown[]; states: string[] },
  ) => {
    expect(job.status, job.error).toBe('succeeded');
    expect(job.modelVersion?.model).toBe(modelName);
    expect(versions).toHaveLength(1);
    expect(states.filter((s) => s === 'succeeded')).toHaveLength(1);
    expect(states).not.toContain('failed');
  };

  beforeAll(async () => {
    services = await startPrivatePlatform({
      trainer: {
        TRAINER_LOCK_DURATION_MS: '4000',
        TRAINER_STALLED_INTERVAL_MS: '2000',
        // Jobs Redis lost are queued again after 2 s (30 s as shipped).
        TRAINER_RECONCILE_MS: '2000',
      },
    });
    ({ platform, postgres, redis } = services);
    api = apiFor(platform);
    ({ key } = await createTenant(platform, 'trainer-faults'));
    datasetId = await uploadDataset(api, key, 'synthetic', syntheticCsv(400, 4, 5));
  }, 180_000);

  afterAll(async () => {
    if (process.env.FAULTS_DUMP_LOGS) console.log(platform?.trainer.logs.slice(-8000));
    await services?.stop();
  });

  it('finishes a job once when Redis restarts (append-only file kept) mid-job', async () => {
    const id = await startJob('redis-restart');
    const caught = await waitForJob(api, key, id, (job) => (job.progress?.epoch ?? 0) >= 2);
    await redis.kill();
    await sleep(REDIS_DOWN_MS);
    await redis.start();
    const { job, versions, states } = await outcomeOf(
      id,
      'redis-restart',
      'redis restarted mid-job',
      { redisDownMs: REDIS_DOWN_MS, killedAtEpoch: caught.progress?.epoch },
    );
    expectFinishedOnce(job, 'redis-restart', { versions, states });
    expect(job.modelVersion).toEqual({ model: 'redis-restart', version: 1 });
    // Each attempt is counted once, when it claims the job: one `running` per attempt.
    expect(job.attempts).toBeGreaterThanOrEqual(1);
    expect(states.filter((s) => s === 'running')).toHaveLength(job.attempts);
  }, 300_000);

  it('runs once a queued job whose queue entry Redis lost with its data', async () => {
    // One trainer, one job at a time: the second job waits in the queue behind the first.
    const running = await startJob('redis-wiped-running');
    await waitForJob(api, key, running, (job) => (job.progress?.epoch ?? 0) >= 1);
    const waiting = await startJob('redis-wiped-queued');
    await redis.kill();
    await redis.start({ wipe: true });
    // Redis has no trace of either job now; PostgreSQL has both. The running one finishes on its
    // trainer; the waiting one is queued again by the trainer's reconciler and runs.
    for (const [id, model] of [
      [running, 'redis-wiped-running'],
      [waiting, 'redis-wiped-queued'],
    ] as const) {
      const { job, versions, states } = await outcomeOf(id, model, 'redis wiped', {});
      expectFinishedOnce(job, model, { versions, states });
    }
  }, 300_000);

  it('records a job that finishes while PostgreSQL is down as succeeded, with one version', async () => {
    const id = await startJob('postgres-outage');
    const caught = await waitForJob(api, key, id, (job) => (job.progress?.epoch ?? 0) >= 2);
    await postgres.stop();
    const stoppedAt = Date.now();
    let finishedDuringOutage = false;
    try {
      await sleep(POSTGRES_DOWN_MS);
      // Kept down until the trainer has finished training and is waiting to record the result
      // (its log says so), so the outage covers the write of the result, not only progress.
      finishedDuringOutage = await waitFor(
        async () =>
          platform.trainer.logs.includes('result not recorded: PostgreSQL unreachable')
            ? true
            : undefined,
        120_000,
        'the job to finish training during the outage',
      ).catch(() => false);
    } finally {
      await postgres.start();
    }
    const downMs = Date.now() - stoppedAt;
    const { job, versions, states } = await outcomeOf(
      id,
      'postgres-outage',
      'postgres stopped mid-job',
      { postgresDownMs: downMs, stoppedAtEpoch: caught.progress?.epoch, finishedDuringOutage },
    );
    expect(finishedDuringOutage).toBe(true);
    expectFinishedOnce(job, 'postgres-outage', { versions, states });
    // The model was trained once: the outage did not send the job round for another attempt.
    expect(job.attempts).toBe(1);
  }, 300_000);
});
