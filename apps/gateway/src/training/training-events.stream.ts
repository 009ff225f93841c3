import type { ServerResponse } from 'node:http';
import type { TrainingEventsNotifier } from './training-events.notifier.js';
import { TERMINAL_STATUSES, type TrainingJobsService } from './training-jobs.service.js';

/**
 * A stream reads the table when PostgreSQL announces a new event of its job, and otherwise
 * only this often (a notification lost with a reconnect is picked up then).
 */
const FALLBACK_POLL_MS = 5_000;

/**
 * Reads shared by the streams of one job on this gateway: woken by the same notification, they
 * ask for the same rows at once, and one query answers them all (a tenant's 16 streams on a
 * job cost one read per event, not 16).
 */
const inFlight = new Map<string, Promise<unknown>>();
function shared<T>(key: string, read: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = read().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

function frame(event: string, data: unknown, id?: bigint): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Server-sent events of one job: first the events recorded so far (after Last-Event-ID when
 * the client reconnects), then new ones as the trainer writes them (pushed: the stream sleeps
 * until the notifier says its job has news), then an `end` event with the job's final view,
 * and the stream closes; so it does for a job that is no longer running when it opens.
 */
export async function streamTrainingEvents(
  jobs: TrainingJobsService,
  notifier: TrainingEventsNotifier,
  tenantId: string,
  jobId: string,
  response: ServerResponse,
  lastEventId: bigint,
): Promise<void> {
  let closed = false;
  const hangUp = new AbortController();
  response.on('close', () => {
    closed = true;
    hangUp.abort();
  });
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  response.write(': training job events\n\n');
  let cursor = lastEventId;
  let lastWrite = Date.now();
  const view = () => shared(`view ${tenantId} ${jobId}`, () => jobs.get(tenantId, jobId));
  const isTerminal = (status: unknown) =>
    (TERMINAL_STATUSES as readonly unknown[]).includes(status);
  try {
    // The job's state is read at the start and after a fallback poll (a notification may have
    // been lost); in between, its `state` events say when it has finished.
    let check = true;
    while (!closed) {
      let finished = check && isTerminal((await view()).status);
      for (;;) {
        const after = cursor;
        const events = await shared(`events ${tenantId} ${jobId} ${after}`, () =>
          jobs.eventsAfter(tenantId, jobId, after),
        );
        for (const event of events) {
          response.write(frame(event.type, { ...(event.data as object), at: event.at }, event.id));
          cursor = event.id;
          lastWrite = Date.now();
          if (event.type === 'state' && isTerminal((event.data as { status?: unknown }).status)) {
            finished = true;
          }
        }
        if (events.length < 500) break;
      }
      if (finished) {
        response.write(frame('end', await view()));
        break;
      }
      if (Date.now() - lastWrite > notifier.heartbeatMs) {
        response.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      const woken = await notifier.nextChange(
        jobId,
        Math.max(0, Math.min(FALLBACK_POLL_MS, notifier.heartbeatMs - (Date.now() - lastWrite))),
        hangUp.signal,
      );
      check = woken === 'poll';
    }
  } catch (error) {
    if (!closed) response.write(frame('error', { message: (error as Error).message }));
  } finally {
    response.end();
  }
}
