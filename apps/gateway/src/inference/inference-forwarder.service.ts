import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedVersion, ServingConfig } from '@maas/model-registry';
import type { LinkCall } from '@maas/workers';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { readLimited } from '../http/body-parsing.js';
import type { InferenceExchange } from './inference-exchange.js';
import { InferenceWorkerClient, WorkerUnreachableError } from './inference-worker.client.js';
import { WorkerDirectory } from './worker-directory.service.js';
import { WorkerLinkClient } from './worker-link.client.js';

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
}

function workerPath(call: LinkCall, { model, version }: ResolvedVersion): string {
  const name = encodeURIComponent(model.name);
  return call === 'infer'
    ? `/v2/models/${name}/versions/${version.number}/infer`
    : `/v1/models/${name}/versions/${version.number}/predict`;
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
 * Sends an inference request to the worker that owns the version (rendezvous order), failing
 * over to the next when a worker cannot be reached, and passes its answer back unparsed. Bodies
 * held in memory go over the worker link (framed, multiplexed on one connection per worker);
 * larger ones, and workers without a link, go over HTTP and stream through.
 */
@Injectable()
export class InferenceForwarder {
  constructor(
    private readonly client: InferenceWorkerClient,
    private readonly link: WorkerLinkClient,
    private readonly directory: WorkerDirectory,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

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
    const candidates = this.directory.candidates(resolved.version.id, replicas);
    let body: Buffer | Readable = Buffer.alloc(0);
    const { headers } = exchange;
    const length = Number(headers['content-length'] ?? NaN);
    if (length > 0 || headers['transfer-encoding'] !== undefined) {
      const whole = candidates.length > 1 ? REPLAYABLE_BODY_BYTES : BUFFERED_BODY_BYTES;
      body = length <= whole ? await readLimited(exchange.request, whole) : exchange.request;
    }
    let lastError: unknown;
    for (const target of candidates) {
      try {
        const answer =
          target.link && Buffer.isBuffer(body) && this.config.INFERENCE_TRANSPORT === 'link'
            ? await this.overLink(target.link, tenantId, resolved, call, exchange, body)
            : await this.overHttp(target.url, tenantId, resolved, call, exchange, body);
        exchange.status(answer.status);
        for (const name of FORWARDED_RESPONSE_HEADERS) {
          const value = answer.headers[name];
          if (value !== undefined) exchange.header(name, value);
        }
        if (answer.status < 300 && answer.rows !== undefined) usage.rows = answer.rows;
        exchange.send(answer.body);
        return;
      } catch (error) {
        lastError = error;
        if (!(error instanceof WorkerUnreachableError)) throw error;
        this.directory.markUnreachable(target.url);
        if (!Buffer.isBuffer(body)) throw error; // a stream cannot be sent twice
      }
    }
    throw lastError;
  }

  private async overLink(
    address: string,
    tenantId: string,
    { model, version }: ResolvedVersion,
    call: LinkCall,
    exchange: InferenceExchange,
    body: Buffer,
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
    origin: string,
    tenantId: string,
    resolved: ResolvedVersion,
    call: LinkCall,
    exchange: InferenceExchange,
    body: Buffer | Readable,
  ): Promise<WorkerAnswer> {
    const headers: Record<string, string> = {
      'x-request-id': exchange.id,
      'x-maas-tenant-id': tenantId,
    };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = exchange.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const response = await this.client.forward({
      origin,
      method: 'POST',
      path: workerPath(call, resolved),
      headers,
      body,
    });
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
}
