import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { APP_LOGGER, type Logger, METRICS_REGISTRY, readBody } from '@maas/app-runtime';
import type { ResolvedVersion, ServingConfig } from '@maas/model-registry';
import type { LinkCall } from '@maas/worker-link';
import { Counter, type Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import type { InferenceExchange } from './inference-exchange.js';
import {
  InferenceWorkerClient,
  WorkerUnreachableError,
  workerPath,
} from './inference-worker.client.js';
import { ReplicaWarmer } from './replica-warmer.js';
import { VersionQuarantine } from './version-quarantine.service.js';
import { WorkerDirectory, type WorkerTarget } from './worker-directory.service.js';
import { WorkerLinkClient } from './worker-link.client.js';
import { type InFlightVersion, lossSuspects, rememberAnswered } from './worker-loss.js';

const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'content-length',
  'inference-header-content-length',
];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'inference-header-content-length',
  'retry-after',
  'x-maas-batch-size',
];

/**
 * Bodies up to this size are read whole before they are sent on (one write, and replayable on
 * another worker); larger ones stream through. Neither is parsed here.
 */
const BUFFERED_BODY_BYTES = 1024 * 1024;
/** Bodies up to this size are held in memory when another worker could take a retry. */
const REPLAYABLE_BODY_BYTES = 4 * 1024 * 1024;

/** What metering reads off an inference request once it is answered. */
export interface InferenceUsage {
  modelName: string;
  modelVersion: number;
  rows: number;
  /**
   * Awaited with the worker's status once its answer is here, before a byte of it is sent:
   * metering records an answered request durably there, so no client holds an answer that a
   * gateway killed a moment later never counted.
   */
  beforeAnswer?: (status: number) => Promise<void>;
}

/**
 * The worker's connection was lost after this request was sent to it: 502, and never replayed
 * on another worker — a request that stops its worker (a model that crashes or exhausts memory)
 * would otherwise stop every worker in turn.
 */
export class WorkerLostError extends Error {
  readonly statusCode = 502;

  constructor() {
    super(
      'the inference worker stopped while it held this request (its connection was lost); it was not retried on another worker, since a request that stops a worker would stop each in turn',
    );
    this.name = 'WorkerLostError';
  }
}

const isDeadline = (error: unknown) =>
  (error as { code?: unknown } | null)?.code === 'DEADLINE_EXCEEDED';

/** Requests in flight to one worker over HTTP, and the versions it has answered. */
interface HttpLedger {
  inFlight: Set<HttpEntry>;
  answered: Set<string>;
}
interface HttpEntry {
  version: InFlightVersion;
  /** Counted in a loss already (the others in flight at that loss fail after it). */
  blamed: boolean;
  /** That loss was blamed on other versions: this request is a bystander of it. */
  bystander?: boolean;
}

/** What the worker answered, whichever transport carried it. */
interface WorkerAnswer {
  status: number;
  /** The FORWARDED_RESPONSE_HEADERS it set. */
  headers: Record<string, string | undefined>;
  /** Rows billed, when the worker said. */
  rows?: number;
  body: Buffer | Readable;
}

/**
 * Sends an inference request to the worker that owns the version (rendezvous order; one that has
 * it loaded first, while its cold replicas are warmed: WorkerDirectory.route, ReplicaWarmer) and
 * passes its answer back unparsed. Bodies held in memory go over the worker link (framed, multiplexed
 * on one connection per worker); larger ones, and workers without a link, go over HTTP and
 * stream through. A request goes to the next worker when it was never sent (connection
 * refused, not established, refused by a draining worker, still queued), or, once, when it was
 * a bystander of the loss (sent, but the loss is blamed on other versions in flight with it:
 * another tenant's model stopped the worker). Otherwise one that reached a worker whose
 * connection was then lost answers 502 (WorkerLostError) and the loss counts towards its
 * version's quarantine. Timeouts count towards the worker's suspicion.
 */
@Injectable()
export class InferenceForwarder {
  private readonly httpLedgers = new Map<string, HttpLedger>();
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly client: InferenceWorkerClient,
    private readonly link: WorkerLinkClient,
    private readonly directory: WorkerDirectory,
    private readonly quarantine: VersionQuarantine,
    private readonly warmer: ReplicaWarmer,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) metrics: Registry,
  ) {
    this.outcomes = new Counter({
      name: 'maas_gateway_worker_failures_total',
      help: 'Requests a worker did not answer: replayed on the next worker (never sent), bystander (sent, the loss blamed on another version: replayed once), lost (sent, connection lost: 502), timeout (504); and workers made suspect by timeouts (suspect)',
      labelNames: ['outcome'],
      registers: [metrics],
    });
  }

  async forward(
    tenantId: string,
    resolved: ResolvedVersion,
    call: LinkCall,
    exchange: InferenceExchange,
    usage: InferenceUsage,
  ): Promise<void> {
    usage.modelName = resolved.model.name;
    usage.modelVersion = resolved.version.number;
    const replicas = (resolved.version.servingConfig as ServingConfig | null)?.replicas ?? 1;
    const { targets: candidates, warming } = this.directory.route(
      resolved.version.id,
      replicas,
      this.atRisk,
    );
    if (warming.length > 0) {
      this.warmer.warm(warming, {
        tenantId,
        model: resolved.model.name,
        version: resolved.version.number,
        versionId: resolved.version.id,
        requestId: exchange.id,
      });
    }
    let body: Buffer | Readable = Buffer.alloc(0);
    const { headers } = exchange;
    const length = Number(headers['content-length'] ?? NaN);
    if (length > 0 || headers['transfer-encoding'] !== undefined) {
      const whole = candidates.length > 1 ? REPLAYABLE_BODY_BYTES : BUFFERED_BODY_BYTES;
      body = length <= whole ? await readBody(exchange.request, whole) : exchange.request;
    }
    const version: InFlightVersion = {
      tenantId,
      versionId: resolved.version.id,
      model: resolved.model.name,
      version: resolved.version.number,
    };
    let lastError: unknown;
    let bystanderReplayed = false;
    for (const target of candidates) {
      let answer: WorkerAnswer;
      try {
        answer =
          target.link && Buffer.isBuffer(body) && this.config.INFERENCE_TRANSPORT === 'link'
            ? await this.overLink(target.link, tenantId, resolved, call, exchange, body, version)
            : await this.overHttp(target, tenantId, resolved, call, exchange, body, version);
      } catch (error) {
        lastError = error;
        this.failed(target, tenantId, error);
        // Never sent: the next worker may take it (a stream cannot be sent twice).
        if (error instanceof WorkerUnreachableError && error.beforeSend && Buffer.isBuffer(body)) {
          continue;
        }
        // Sent, but the worker was stopped by another version in flight with it: one more
        // worker may take it. Once only — were the blame wrong, this request stops at most one
        // more worker, and its second loss answers 502.
        if (
          error instanceof WorkerUnreachableError &&
          error.bystander &&
          !bystanderReplayed &&
          Buffer.isBuffer(body)
        ) {
          bystanderReplayed = true;
          continue;
        }
        if (error instanceof WorkerUnreachableError && !error.beforeSend) {
          throw new WorkerLostError();
        }
        throw error;
      }
      exchange.status(answer.status);
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = answer.headers[name];
        if (value !== undefined) exchange.header(name, value);
      }
      if (answer.status < 300 && answer.rows !== undefined) usage.rows = answer.rows;
      await usage.beforeAnswer?.(answer.status);
      exchange.send(answer.body);
      return;
    }
    // A bystander with no worker left to take it was lost all the same.
    if (lastError instanceof WorkerUnreachableError && !lastError.beforeSend) {
      throw new WorkerLostError();
    }
    throw lastError;
  }

  /**
   * Whether a worker runs a request of a version that never ran to an answer on any worker
   * (over the link or HTTP): a model that stops its worker does so on its first call, and every
   * request in flight on that worker then fails or is replayed. A replicated version's requests
   * go to its other replicas meanwhile (WorkerDirectory.route's `avoid`), so another tenant's
   * untried model has none of them in flight if it stops the worker.
   */
  private readonly atRisk = (target: WorkerTarget): boolean => {
    if (target.link !== undefined && this.link.untriedInFlight(target.link)) return true;
    const ledger = this.httpLedgers.get(target.url);
    if (!ledger) return false;
    for (const entry of ledger.inFlight) {
      if (!this.link.ranSomewhere(entry.version.versionId)) return true;
    }
    return false;
  };

  /** What a worker's failure to answer says about it (counted, and its suspicion updated). */
  private failed(target: WorkerTarget, tenantId: string, error: unknown): void {
    if (error instanceof WorkerUnreachableError) {
      this.outcomes.inc({
        outcome: error.beforeSend ? 'replayed' : error.bystander ? 'bystander' : 'lost',
      });
      this.directory.markUnreachable(target.url);
      return;
    }
    if (!isDeadline(error)) return;
    this.outcomes.inc({ outcome: 'timeout' });
    if (this.directory.noteTimeout(target.url, tenantId)) {
      this.outcomes.inc({ outcome: 'suspect' });
      this.logger.warn(
        { worker: target.url },
        'inference worker keeps missing the deadline: routed around for a cool-down',
      );
    }
  }

  private async overLink(
    address: string,
    tenantId: string,
    { model, version }: ResolvedVersion,
    call: LinkCall,
    exchange: InferenceExchange,
    body: Buffer,
    inFlight: InFlightVersion,
  ): Promise<WorkerAnswer> {
    const headerLength = exchange.headers['inference-header-content-length'];
    const { meta, body: answer } = await this.link.request(
      address,
      call,
      {
        tenant: tenantId,
        model: model.name,
        version: version.number,
        requestId: exchange.id,
        // The worker validates it (400 on a malformed one), as on HTTP.
        ...(typeof headerLength === 'string' ? { headerLength } : {}),
      },
      body,
      inFlight,
    );
    return {
      status: meta.status,
      headers: {
        'content-type': meta.contentType,
        'inference-header-content-length':
          meta.headerLength === undefined ? undefined : String(meta.headerLength),
        'retry-after': meta.retryAfter,
        'x-maas-batch-size': meta.batchRows === undefined ? undefined : String(meta.batchRows),
      },
      rows: meta.rows,
      body: answer,
    };
  }

  private async overHttp(
    target: WorkerTarget,
    tenantId: string,
    resolved: ResolvedVersion,
    call: LinkCall,
    exchange: InferenceExchange,
    body: Buffer | Readable,
    inFlight: InFlightVersion,
  ): Promise<WorkerAnswer> {
    const origin = target.url;
    const headers: Record<string, string> = {
      'x-request-id': exchange.id,
      'x-maas-tenant-id': tenantId,
    };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = exchange.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const ledger = this.ledgerOf(origin);
    const entry: HttpEntry = { version: inFlight, blamed: false };
    ledger.inFlight.add(entry);
    let response: Awaited<ReturnType<InferenceWorkerClient['forward']>>;
    try {
      response = await this.client.forward({
        origin,
        method: 'POST',
        path: workerPath(resolved.model.name, resolved.version.number, call),
        headers,
        body,
      });
      rememberAnswered(ledger.answered, inFlight.versionId);
      if (response.statusCode === 200) this.link.noteRan(inFlight.versionId);
    } catch (error) {
      if (error instanceof WorkerUnreachableError && !error.beforeSend) {
        if (!entry.blamed) this.httpLoss(target, ledger);
        if (entry.bystander) throw new WorkerUnreachableError(origin, false, true);
      }
      throw error;
    } finally {
      ledger.inFlight.delete(entry);
    }
    const answerHeaders: Record<string, string | undefined> = {};
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers[name];
      if (typeof value === 'string') answerHeaders[name] = value;
    }
    const rows = Number(response.headers['x-maas-rows']);
    // Small answers go back in one write; large ones stream.
    const length = Number(response.headers['content-length'] ?? NaN);
    return {
      status: response.statusCode,
      headers: answerHeaders,
      rows: Number.isFinite(rows) ? rows : undefined,
      body:
        length <= BUFFERED_BODY_BYTES
          ? Buffer.from(await response.body.arrayBuffer())
          : response.body,
    };
  }

  private ledgerOf(origin: string): HttpLedger {
    let ledger = this.httpLedgers.get(origin);
    if (!ledger) {
      if (this.httpLedgers.size >= 1000) this.httpLedgers.clear(); // workers come and go
      ledger = { inFlight: new Set(), answered: new Set() };
      this.httpLedgers.set(origin, ledger);
    }
    return ledger;
  }

  /**
   * An HTTP request to the worker was lost after it was sent: the loss is blamed once on the
   * versions in flight to it then (the others fail on their own connections just after), as
   * the link does for its one connection.
   */
  private httpLoss(target: WorkerTarget, ledger: HttpLedger): void {
    const inFlight = [...ledger.inFlight].filter((entry) => !entry.blamed);
    for (const entry of inFlight) entry.blamed = true;
    const suspects = lossSuspects(
      inFlight.map((entry) => entry.version),
      ledger.answered,
    );
    const blamed = new Set(suspects.map((suspect) => suspect.versionId));
    for (const entry of inFlight) {
      entry.bystander = blamed.size > 0 && !blamed.has(entry.version.versionId);
    }
    void this.quarantine.recordLoss(target.id ?? target.url, suspects);
  }
}
