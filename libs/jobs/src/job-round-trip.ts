import type { Job, Queue, QueueEvents } from 'bullmq';

export type RoundTrip<R> = { ok: true; result: R } | { ok: false; reason: string };

/**
 * Adds a one-attempt job and waits up to `timeoutMs` for a consumer to finish it: its result, or
 * why there is none (no consumer in time, or the consumer failed it). A job still waiting at the
 * deadline is taken back, so no consumer runs it for nobody. The job is kept a few minutes after
 * it finishes: waitUntilFinished reads the result, which a removed job no longer has.
 */
export async function roundTrip<D, R>(
  queue: Queue,
  events: QueueEvents,
  name: string,
  data: D,
  timeoutMs: number,
): Promise<RoundTrip<R>> {
  await events.waitUntilReady();
  const job: Job<D, R> = await queue.add(name as never, data as never, {
    attempts: 1,
    removeOnComplete: { age: 300 },
    removeOnFail: { age: 300 },
  });
  try {
    return { ok: true, result: (await job.waitUntilFinished(events, timeoutMs)) as R };
  } catch (error) {
    await job.remove().catch(() => undefined);
    return { ok: false, reason: (error as Error).message };
  }
}
