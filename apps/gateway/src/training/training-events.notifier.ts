import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_LOGGER, DomainError, type Logger, METRICS_REGISTRY } from '@maas/app-runtime';
import { PgChannelListener } from '@maas/db';
import { Counter, Gauge, type Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

/** The channel the `training_job_events_notify` trigger announces new events on. */
const CHANNEL = 'training_job_events';

/**
 * Tells event streams when their job has something new: one LISTEN connection per gateway
 * (PostgreSQL's trigger on training_job_events), fanned out to the streams waiting in this
 * process. Also holds the per-tenant count of open streams, so one tenant's 500 streams cannot
 * take every socket and database connection of a gateway.
 */
@Injectable()
export class TrainingEventsNotifier implements OnModuleInit, OnApplicationShutdown {
  /**
   * How often a quiet stream writes a keep-alive comment: 15 s, or half the server's idle
   * timeout when that is shorter (a silent stream would be cut as an idle connection).
   */
  readonly heartbeatMs: number;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly openStreams = new Map<string, number>();
  private readonly listener: PgChannelListener;
  private readonly streams: Gauge;
  private readonly reads: Counter<'reason'>;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.heartbeatMs = Math.min(15_000, Math.floor(config.HTTP_IDLE_TIMEOUT_MS / 2));
    this.listener = new PgChannelListener({
      databaseUrl: config.DATABASE_URL,
      channel: CHANNEL,
      onNotify: (jobId) => this.wake(jobId),
      onDisconnect: (error) => {
        this.logger.warn({ err: error }, 'training events listener lost its connection');
        // Streams waiting now would otherwise sleep out their whole fallback interval.
        for (const jobId of [...this.waiters.keys()]) this.wake(jobId);
      },
    });
    this.streams = new Gauge({
      name: 'maas_training_event_streams',
      help: 'Open training-job event streams (SSE) on this gateway',
      registers: [registry],
    });
    this.reads = new Counter({
      name: 'maas_training_event_stream_reads_total',
      help: 'Event-table reads by open SSE streams, by what woke them (notify, fallback poll)',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.close();
  }

  /**
   * Takes one of the tenant's stream slots (429 when it has them all); the returned function
   * gives it back.
   */
  /** Whether the tenant holds all the streams it may open on this gateway. */
  atLimit(tenantId: string): boolean {
    return (this.openStreams.get(tenantId) ?? 0) >= this.config.MAX_EVENT_STREAMS_PER_TENANT;
  }

  limitError(): DomainError {
    return new DomainError(
      'RESOURCE_EXHAUSTED',
      `too many open event streams: at most ${this.config.MAX_EVENT_STREAMS_PER_TENANT} per tenant; close one or poll GET /api/training-jobs/{id}`,
    );
  }

  openStream(tenantId: string): () => void {
    const open = this.openStreams.get(tenantId) ?? 0;
    if (this.atLimit(tenantId)) throw this.limitError();
    this.openStreams.set(tenantId, open + 1);
    this.streams.inc();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.streams.dec();
      const left = (this.openStreams.get(tenantId) ?? 1) - 1;
      if (left === 0) this.openStreams.delete(tenantId);
      else this.openStreams.set(tenantId, left);
    };
  }

  /**
   * Resolves when the job has a new event ('notify'), or after `fallbackMs` ('poll': a
   * notification lost with a connection is picked up then; sooner when notifications are not
   * flowing at all), or when the stream closed ('closed').
   */
  async nextChange(
    jobId: string,
    fallbackMs: number,
    signal: AbortSignal,
  ): Promise<'notify' | 'poll' | 'closed'> {
    if (signal.aborted) return 'closed';
    const wait = this.listener.connected ? fallbackMs : Math.min(fallbackMs, 1_000);
    const reason = await new Promise<'notify' | 'poll' | 'closed'>((resolve) => {
      let set = this.waiters.get(jobId);
      if (!set) this.waiters.set(jobId, (set = new Set()));
      const waiters = set;
      const done = (why: 'notify' | 'poll' | 'closed') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(jobId) === waiters) this.waiters.delete(jobId);
        resolve(why);
      };
      const wake = () => done('notify');
      const onAbort = () => done('closed');
      const timer = setTimeout(() => done('poll'), wait);
      waiters.add(wake);
      signal.addEventListener('abort', onAbort);
    });
    if (reason !== 'closed') this.reads.inc({ reason });
    return reason;
  }

  private wake(jobId: string): void {
    const waiters = this.waiters.get(jobId);
    if (!waiters) return;
    for (const wake of [...waiters]) wake();
  }
}
