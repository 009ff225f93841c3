import { startTestPlatform, type TestPlatform } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './serving-helpers.js';
import {
  type Api,
  apiFor,
  createTenant,
  type JobView,
  readSse,
  startTrainingJob,
  syntheticCsv,
  uploadDataset,
} from './training-helpers.js';

const MAX_STREAMS = 3;

/** An open SSE response whose first bytes (the stream's comment line) have arrived. */
async function openStream(api: Api, key: string, jobId: string) {
  const hangUp = new AbortController();
  const response = await api(`/api/training-jobs/${jobId}/events`, {
    headers: { 'x-api-key': key },
    signal: hangUp.signal,
  });
  return { response, close: () => hangUp.abort() };
}

describe('training-event streams: pushed by PostgreSQL, bounded per tenant', () => {
  let platform: TestPlatform;
  let api: Api;
  let tenantA: { id: string; key: string };
  let tenantB: { id: string; key: string };

  const queuedJob = async (tenant: { key: string }, datasetId: string, modelName: string) => {
    const job = await startTrainingJob(api, tenant.key, {
      datasetId,
      target: 'cls',
      algorithm: 'decision_tree',
      task: 'classification',
      modelName,
      hyperparameters: {},
    });
    return job.id;
  };
  const dataset = (tenant: { key: string }) =>
    uploadDataset(api, tenant.key, 'small', syntheticCsv(50, 3, 2));

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: { gateway: { MAX_EVENT_STREAMS_PER_TENANT: String(MAX_STREAMS) } },
    });
    // No trainer: jobs stay queued, so their streams stay open until they are cancelled.
    await platform.trainer.stop();
    api = apiFor(platform);
    tenantA = await createTenant(platform, 'streamer');
    tenantB = await createTenant(platform, 'neighbour');
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('sleeps while nothing happens and wakes on the job’s next event', async () => {
    const jobId = await queuedJob(tenantA, await dataset(tenantA), 'quiet');
    const reads = () => metricValue(platform.gateway.url, 'maas_training_event_stream_reads_total');
    const before = await reads();
    const stream = await openStream(api, tenantA.key, jobId);
    expect(stream.response.status).toBe(200);
    // Polling every 250 ms would have read the table ~8 times by now; pushed streams not once
    // (the fallback poll is 5 s).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await reads()).toBe(before);

    const cancel = await api(`/api/training-jobs/${jobId}/cancel`, {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key },
    });
    expect(cancel.status).toBe(200);
    const events = await readSse(stream.response);
    expect(
      events.filter((e) => e.event === 'state').map((e) => (e.data as JobView).status),
    ).toEqual(['queued', 'cancelled']);
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'cancelled' } });
    expect(
      await metricValue(
        platform.gateway.url,
        'maas_training_event_stream_reads_total',
        'reason="notify"',
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it('ends at once the stream of a job that is no longer running', async () => {
    const jobId = await queuedJob(tenantA, await dataset(tenantA), 'over');
    await api(`/api/training-jobs/${jobId}/cancel`, {
      method: 'POST',
      headers: { 'x-api-key': tenantA.key },
    });
    const events = await readSse(
      await api(`/api/training-jobs/${jobId}/events`, { headers: { 'x-api-key': tenantA.key } }),
    );
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'cancelled' } });
  });

  it('holds each tenant to its open streams (429) without touching its neighbour', async () => {
    const datasetA = await dataset(tenantA);
    const jobId = await queuedJob(tenantA, datasetA, 'many');
    const streams = [];
    for (let i = 0; i < MAX_STREAMS; i += 1) {
      const stream = await openStream(api, tenantA.key, jobId);
      expect(stream.response.status).toBe(200);
      streams.push(stream);
    }
    expect(await metricValue(platform.gateway.url, 'maas_training_event_streams')).toBe(
      MAX_STREAMS,
    );
    const refused = await api(`/api/training-jobs/${jobId}/events`, {
      headers: { 'x-api-key': tenantA.key },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/event streams/);

    // Tenant B is not held to A's count.
    const neighbourJob = await queuedJob(tenantB, await dataset(tenantB), 'mine');
    const neighbour = await openStream(api, tenantB.key, neighbourJob);
    expect(neighbour.response.status).toBe(200);
    neighbour.close();

    // A closed stream gives its slot back.
    streams.pop()!.close();
    let reopened: Response | undefined;
    for (let i = 0; i < 50 && reopened?.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const attempt = await openStream(api, tenantA.key, jobId);
      reopened = attempt.response;
      if (reopened.status === 200) streams.push(attempt);
    }
    expect(reopened?.status).toBe(200);
    for (const stream of streams) stream.close();
  });
});
