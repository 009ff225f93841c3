import {
  type PrivatePostgres,
  type PrivateRedis,
  startPrivatePostgres,
  startPrivateRedis,
  startTestPlatform,
  type TestPlatform,
} from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  apiFor,
  createTenant,
  finished,
  type JobView,
  readSse,
  syntheticCsv,
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
  let api: Api;
  let key: string;
  let datasetId: string;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const startJob = async (modelName: string) => {
    const response = await api('/api/training-jobs', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: {
        datasetId,
        target: 'cls',
        algorithm: 'mlp',
        task: 'classification',
        modelName,
        hyperparameters: HYPERPARAMETERS,
      },
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as JobView).id;
  };

  /** The job as a client sees it after the fault: its versions and its state changes. */
  const outcomeOf = async (id: string, modelName: string) => {
    const versions = await api(`/api/models/${modelName}/versions`, {
      headers: { 'x-api-key': key },
    });
    expect(versions.status).toBe(200);
    const events = await readSse(
      await api(`/api/training-jobs/${id}/events`, { headers: { 'x-api-key': key } }),
    );
    const states = events.filter((e) => e.event === 'state').map((e) => e.data.status as string);
    return { versions: ((await versions.json()) as { items: unknown[] }).items, states };
  };

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    redis = await startPrivateRedis({ appendonly: true });
    platform = await startTestPlatform({
      databaseUrl: postgres.databaseUrl,
      redisUrl: redis.url,
      env: { trainer: { TRAINER_LOCK_DURATION_MS: '4000', TRAINER_STALLED_INTERVAL_MS: '2000' } },
    });
    api = apiFor(platform);
    ({ key } = await createTenant(platform, 'trainer-faults'));
    const upload = await api('/api/datasets?name=synthetic', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'text/csv' },
      body: syntheticCsv(400, 4, 5),
    });
    expect(upload.status).toBe(201);
    datasetId = ((await upload.json()) as { id: string }).id;
  }, 180_000);

  afterAll(async () => {
    if (process.env.FAULTS_DUMP_LOGS) console.log(platform?.trainer.logs.slice(-8000));
    await platform?.stop();
    await postgres?.destroy();
    await redis?.destroy();
  });

  it('finishes a job once when Redis restarts (append-only file kept) mid-job', async () => {
    const id = await startJob('redis-restart');
    const caught = await waitForJob(api, key, id, (job) => (job.progress?.epoch ?? 0) >= 2);
    await redis.kill();
    await sleep(REDIS_DOWN_MS);
    await redis.start();
    const job = await waitForJob(api, key, id, finished, 240_000);
    const { versions, states } = await outcomeOf(id, 'redis-restart');
    console.log(
      '[trainer-faults] redis restarted mid-job',
      JSON.stringify({
        redisDownMs: REDIS_DOWN_MS,
        killedAtEpoch: caught.progress?.epoch,
        status: job.status,
        attempts: job.attempts,
        trainingSeconds: job.trainingSeconds,
        versions: versions.length,
        states,
      }),
    );
    expect(job.status, job.error).toBe('succeeded');
    expect(job.modelVersion).toEqual({ model: 'redis-restart', version: 1 });
    expect(versions).toHaveLength(1);
    expect(states.filter((s) => s === 'succeeded')).toHaveLength(1);
    expect(states).not.toContain('failed');
    // Each attempt is counted once, when it claims the job: one `running` per attempt.
    expect(job.attempts).toBeGreaterThanOrEqual(1);
    expect(states.filter((s) => s === 'running')).toHaveLength(job.attempts);
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
    const job = await waitForJob(api, key, id, finished, 240_000);
    const { versions, states } = await outcomeOf(id, 'postgres-outage');
    console.log(
      '[trainer-faults] postgres stopped mid-job',
      JSON.stringify({
        postgresDownMs: downMs,
        stoppedAtEpoch: caught.progress?.epoch,
        finishedDuringOutage,
        status: job.status,
        attempts: job.attempts,
        trainingSeconds: job.trainingSeconds,
        versions: versions.length,
        states,
      }),
    );
    expect(finishedDuringOutage).toBe(true);
    expect(job.status, job.error).toBe('succeeded');
    expect(job.modelVersion?.model).toBe('postgres-outage');
    expect(versions).toHaveLength(1);
    expect(states.filter((s) => s === 'succeeded')).toHaveLength(1);
    expect(states).not.toContain('failed');
    // The model was trained once: the outage did not send the job round for another attempt.
    expect(job.attempts).toBe(1);
  }, 300_000);
});
