import { MaasApiError } from '../errors.js';
import { sleep } from '../http/retry.js';
import { readSse } from '../http/sse.js';
import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import type {
  Page,
  PageQuery,
  TrainingJob,
  TrainingJobCreate,
  TrainingJobStatus,
} from '../types.js';
import { everyPage } from './models.js';

/** What a progress event carries: an MLP's epochs and losses, or a tree's stages. */
export interface TrainingProgressData {
  epoch?: number;
  epochs?: number;
  loss?: number;
  valLoss?: number;
  accuracy?: number;
  valAccuracy?: number;
  stage?: string;
  nodes?: number;
  leaves?: number;
  depth?: number;
  at?: string;
  [field: string]: unknown;
}

export interface TrainingStateData {
  status: TrainingJobStatus;
  error?: string;
  attempt?: number;
  retrying?: boolean;
  modelVersion?: { model: string; version: number };
  at?: string;
}

/** One event of a job's stream; `end` comes last, with the job's final view. */
export type TrainingEvent =
  | { type: 'state'; id?: string; data: TrainingStateData }
  | { type: 'progress'; id?: string; data: TrainingProgressData }
  | { type: 'log'; id?: string; data: { message: string; at?: string } }
  | { type: 'end'; id?: string; data: TrainingJob };

const KNOWN_EVENTS = new Set(['state', 'progress', 'log', 'end']);

export interface TrainingEventsOptions {
  /** Resume after this event id (what `TrainingEvent.id` said last). */
  lastEventId?: string;
  signal?: AbortSignal;
  /**
   * Reconnects in a row, without an event between them, before giving up (default 5). A
   * stream that closes before `end` is reopened from the last event id seen, so no event is
   * repeated or lost.
   */
  maxReconnects?: number;
  /** First reconnect delay (doubles per failed reconnect; the server's `retry:` wins). */
  reconnectDelayMs?: number;
}

export interface TrainingWaitOptions extends TrainingEventsOptions {
  onEvent?: (event: TrainingEvent) => void;
}

/** Training jobs: start, list, cancel, and follow their events. */
export class Training {
  constructor(private readonly transport: Transport) {}

  /** Queues a job (`hyperparameters` as in the README's tables). */
  create(body: TrainingJobCreate, options: CallOptions = {}): Promise<TrainingJob> {
    return this.transport.call('post', '/api/training-jobs', { body, ...options });
  }

  list(
    query: PageQuery & { status?: TrainingJobStatus } = {},
    options: CallOptions = {},
  ): Promise<Page<TrainingJob>> {
    return this.transport.call('get', '/api/training-jobs', { query, ...options });
  }

  all(status?: TrainingJobStatus, options: CallOptions = {}): AsyncGenerator<TrainingJob> {
    return everyPage((cursor) => this.list({ cursor, limit: 200, status }, options));
  }

  get(id: string, options: CallOptions = {}): Promise<TrainingJob> {
    return this.transport.call('get', '/api/training-jobs/{id}', { path: { id }, ...options });
  }

  /** Asks the trainer to stop the job (a finished job is answered as it is). */
  cancel(id: string, options: CallOptions = {}): Promise<TrainingJob> {
    return this.transport.call('post', '/api/training-jobs/{id}/cancel', {
      path: { id },
      ...options,
    });
  }

  /**
   * The job's events over server-sent events: those recorded so far, then live ones, then
   * `end` with the final job, after which iteration stops. Breaking out of the loop closes
   * the stream.
   */
  async *events(id: string, options: TrainingEventsOptions = {}): AsyncGenerator<TrainingEvent> {
    const maxReconnects = options.maxReconnects ?? 5;
    let delayMs = options.reconnectDelayMs ?? 500;
    let lastEventId = options.lastEventId;
    let failures = 0;
    for (;;) {
      let response: Response | undefined;
      try {
        response = await this.transport.send({
          method: 'GET',
          path: `/api/training-jobs/${encodeURIComponent(id)}/events`,
          headers: {
            accept: 'text/event-stream',
            ...(lastEventId !== undefined && { 'last-event-id': lastEventId }),
          },
          signal: options.signal,
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        response = undefined;
      }
      if (response && !response.ok) {
        throw await MaasApiError.fromResponse(response, {
          method: 'GET',
          url: `${this.transport.baseUrl}/api/training-jobs/${id}/events`,
        });
      }
      if (response?.body) {
        try {
          for await (const message of readSse(response.body)) {
            if (message.retry !== undefined) delayMs = message.retry;
            // The gateway reports a failure mid-stream as `error` and closes: reconnect.
            if (!KNOWN_EVENTS.has(message.event)) continue;
            if (message.id !== undefined) lastEventId = message.id;
            failures = 0;
            const event = {
              type: message.event,
              ...(message.id !== undefined && { id: message.id }),
              data: JSON.parse(message.data) as unknown,
            } as TrainingEvent;
            yield event;
            if (event.type === 'end') return;
          }
        } catch (error) {
          if (options.signal?.aborted) throw error;
          // A connection lost mid-stream: reopened below from lastEventId.
        }
      }
      failures += 1;
      if (failures > maxReconnects) {
        throw new Error(
          `training job ${id}: the event stream closed ${failures} times in a row before the job ended`,
        );
      }
      await sleep(delayMs * 2 ** (failures - 1), options.signal);
    }
  }

  /** Follows the job's events until it ends; answers the final job. */
  async wait(id: string, options: TrainingWaitOptions = {}): Promise<TrainingJob> {
    for await (const event of this.events(id, options)) {
      options.onEvent?.(event);
      if (event.type === 'end') return event.data;
    }
    // events() only returns after `end`; this keeps the type checker honest.
    return this.get(id, options);
  }

  /** Creates a job and waits for it to end. */
  async run(body: TrainingJobCreate, options: TrainingWaitOptions = {}): Promise<TrainingJob> {
    const job = await this.create(body, options);
    return this.wait(job.id, options);
  }
}
