import type { ServerResponse } from 'node:http';
import type { TrainingEventsNotifier } from './training-events.notifier.js';
import { TERMINAL_STATUSES, type TrainingJobsService } from './training-jobs.service.js';

/**
 * A stream reads the table when PostgreSQL announces a new event of its job, and otherwise
 * only this often (a notification lost with a reconnect is picked up then).
 */
const FALLBACK_POLL_MS = 5_000;

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
  try {
    while (!closed) {
      const view = await jobs.get(tenantId, jobId);
      const finished = (TERMINAL_STATUSES as readonly string[]).includes(view.status);
      for (;;) {
        const events = await jobs.eventsAfter(tenantId, jobId, cursor);
        for (const event of events) {
          response.write(frame(event.type, { ...(event.data as object), at: event.at }, event.id));
          cursor = event.id;
          lastWrite = Date.now();
        }
        if (events.length < 500) break;
      }
      if (finished) {
        response.write(frame('end', view));
        break;
      }
      if (Date.now() - lastWrite > notifier.heartbeatMs) {
        response.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await notifier.nextChange(
        jobId,
        Math.max(0, Math.min(FALLBACK_POLL_MS, notifier.heartbeatMs - (Date.now() - lastWrite))),
        hangUp.signal,
      );
    }
  } catch (error) {
    if (!closed) response.write(frame('error', { message: (error as Error).message }));
  } finally {
    response.end();
  }
}
