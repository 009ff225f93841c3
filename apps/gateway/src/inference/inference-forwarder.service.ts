import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '@maas/app-runtime';
import type { ResolvedVersion } from '@maas/model-registry';
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

/** Bodies up to this size are held in memory when another worker could take a retry. */
const REPLAYABLE_BODY_BYTES = 4 * 1024 * 1024;

/** What the metering around inference routes reads off the request (see issue 3). */
export interface InferenceUsage {
  modelName: string;
  modelVersion: number;
  rows: number;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new DomainError('PAYLOAD_TOO_LARGE', 'request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Sends an inference request to the worker that owns the version (rendezvous order), failing
 * over to the next when a worker cannot be reached, and streams its answer back unparsed.
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
  ): Promise<void> {
    const usage: InferenceUsage = { modelName: model.name, modelVersion: version.number, rows: 0 };
    (request as FastifyRequest & { inferenceUsage?: InferenceUsage }).inferenceUsage = usage;
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
      body =
        candidates.length > 1 && length <= REPLAYABLE_BODY_BYTES
          ? await readAll(raw, REPLAYABLE_BODY_BYTES)
          : raw;
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
        await reply.send(response.body);
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
