import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ResolvedVersion } from '@maas/model-registry';
import { readLimited } from '../http/body-parsing.js';
import { InferenceWorkerClient, WorkerUnreachableError } from './inference-worker.client.js';
import { WorkerDirectory } from './worker-directory.service.js';

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

/**
 * Sends an inference request to the worker that owns the version (rendezvous order), failing
 * over to the next when a worker cannot be reached, and passes its answer back unparsed.
 */
@Injectable()
export class InferenceForwarder {
  constructor(
    private readonly client: InferenceWorkerClient,
    private readonly directory: WorkerDirectory,
  ) {}

  async forward(
    tenantId: string,
    { model, version }: ResolvedVersion,
    workerPath: string,
    request: FastifyRequest,
    reply: FastifyReply,
    usage: InferenceUsage,
  ): Promise<void> {
    usage.modelName = model.name;
    usage.modelVersion = version.number;
    const headers: Record<string, string> = {
      'x-request-id': String(request.id),
      'x-maas-tenant-id': tenantId,
    };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const candidates = this.directory.candidates(version.id);
    let body: Buffer | Readable | string = '';
    const raw = request.body as Readable | Buffer | undefined | null;
    if (Buffer.isBuffer(raw)) body = raw;
    else if (raw && typeof (raw as Readable).pipe === 'function') {
      const length = Number(request.headers['content-length'] ?? NaN);
      const whole = candidates.length > 1 ? REPLAYABLE_BODY_BYTES : BUFFERED_BODY_BYTES;
      body = length <= whole ? await readLimited(raw, whole) : raw;
    }
    const replayable = typeof body === 'string' || Buffer.isBuffer(body);
    let lastError: unknown;
    for (const origin of candidates) {
      try {
        const response = await this.client.forward({
          origin,
          method: 'POST',
          path: workerPath,
          headers,
          body: body as never,
        });
        void reply.status(response.statusCode);
        for (const name of FORWARDED_RESPONSE_HEADERS) {
          const value = response.headers[name];
          if (typeof value === 'string') void reply.header(name, value);
        }
        const rows = Number(response.headers['x-maas-rows']);
        if (response.statusCode < 300 && Number.isFinite(rows)) usage.rows = rows;
        // Small answers go back in one write; large ones stream.
        const length = Number(response.headers['content-length'] ?? NaN);
        await reply.send(
          length <= BUFFERED_BODY_BYTES
            ? Buffer.from(await response.body.arrayBuffer())
            : response.body,
        );
        return;
      } catch (error) {
        lastError = error;
        if (!(error instanceof WorkerUnreachableError)) throw error;
        this.directory.markUnreachable(origin);
        if (!replayable) throw error;
      }
    }
    throw lastError;
  }
}
