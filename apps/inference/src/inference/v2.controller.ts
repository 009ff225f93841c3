import { Controller, Get, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '@maas/app-runtime';
import { ModelCacheService } from '../models/model-cache.service.js';
import { VersionLookupService } from '../models/version-lookup.service.js';
import { InferenceService, type ServedResponse } from './inference.service.js';

export const TENANT_HEADER = 'x-maas-tenant-id';

export function tenantOf(value: string | undefined): string {
  // The gateway resolves the caller's tenant and sends it; workers are reachable only from it.
  if (!value) throw new DomainError('INVALID_ARGUMENT', `missing ${TENANT_HEADER} header`);
  return value;
}

export function versionOf(raw: string): number {
  if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new DomainError('INVALID_ARGUMENT', `version must be a positive integer, got '${raw}'`);
  }
  return Number(raw);
}

function headerLengthOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(raw)) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      'Inference-Header-Content-Length must be a byte count',
    );
  }
  return Number(raw);
}

/** The worker's Open Inference Protocol surface (called by the gateway). */
@Controller('v2')
export class V2Controller {
  constructor(
    private readonly inference: InferenceService,
    private readonly versions: VersionLookupService,
    private readonly cache: ModelCacheService,
  ) {}

  @Get()
  server() {
    return { name: 'maas-inference', version: '0.1.0', extensions: ['binary_tensor_data'] };
  }

  @Get('health/live')
  live() {
    return { live: true };
  }

  @Get('health/ready')
  ready() {
    return { ready: true, loadedVersions: this.cache.loadedVersionIds().length };
  }

  @Get('models/:model/versions/:version')
  async metadata(
    @Headers(TENANT_HEADER) tenant: string | undefined,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    const found = await this.versions.find(tenantOf(tenant), model, versionOf(version));
    return {
      name: found.model.name,
      versions: [String(found.version.number)],
      platform: 'onnxruntime_onnx',
      inputs: found.version.inputs,
      outputs: found.version.outputs,
    };
  }

  @Post('models/:model/versions/:version/infer')
  @HttpCode(200)
  async infer(
    @Headers(TENANT_HEADER) tenant: string | undefined,
    @Headers('inference-header-content-length') headerLength: string | undefined,
    @Param('model') model: string,
    @Param('version') version: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const response = await this.inference.infer(
      tenantOf(tenant),
      model,
      versionOf(version),
      body,
      headerLengthOf(headerLength),
    );
    await sendServed(reply, response);
  }
}

/** Writes a served response with the usage headers the gateway meters from. */
export async function sendServed(reply: FastifyReply, response: ServedResponse): Promise<void> {
  void reply.header('content-type', response.contentType);
  void reply.header('x-maas-rows', String(response.rows));
  void reply.header('x-maas-batch-size', String(response.batchRows));
  if (response.headerLength !== undefined) {
    void reply.header('inference-header-content-length', String(response.headerLength));
  }
  await reply.send(response.body);
}
