import { Controller, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { ModelRegistryService, type ResolvedVersion } from '@maas/model-registry';
import { Inject } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '@maas/app-runtime';
import { TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId, RequireScope } from '../auth/principal.js';
import { parseVersionNumber } from '../models/models.controller.js';
import { InferenceWorkerClient } from './inference-worker.client.js';

const SERVER_VERSION = '0.1.0';
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'content-length',
  'inference-header-content-length',
];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'inference-header-content-length',
];

function platformOf(format: string): string {
  return format === 'onnx' ? 'onnxruntime_onnx' : 'tensorflowjs';
}

/** Open Inference Protocol (KServe v2 / Triton HTTP) for tenants, forwarded to a worker. */
@Controller('v2')
export class V2Controller {
  constructor(
    private readonly registry: ModelRegistryService,
    private readonly worker: InferenceWorkerClient,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get()
  server() {
    return { name: 'maas', version: SERVER_VERSION, extensions: ['binary_tensor_data'] };
  }

  @Get('health/live')
  live() {
    return { live: true };
  }

  @Get('health/ready')
  async ready() {
    try {
      await Promise.all([this.prisma.$queryRaw`SELECT 1`, this.redis.ping()]);
    } catch {
      throw new DomainError('UNAVAILABLE', 'not ready');
    }
    return { ready: true };
  }

  @Get('models/:model')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async metadata(@CurrentTenantId() tenantId: string, @Param('model') model: string) {
    return this.metadataOf(await this.registry.resolveVersion(tenantId, model, {}));
  }

  @Get('models/:model/versions/:version')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async versionMetadata(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    const resolved = await this.registry.resolveVersion(tenantId, model, {
      version: parseVersionNumber(version),
    });
    return this.metadataOf(resolved);
  }

  @Get('models/:model/ready')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async modelReady(@CurrentTenantId() tenantId: string, @Param('model') model: string) {
    await this.registry.resolveVersion(tenantId, model, {});
    return { name: model, ready: true };
  }

  @Get('models/:model/versions/:version/ready')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async versionReady(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    await this.registry.resolveVersion(tenantId, model, { version: parseVersionNumber(version) });
    return { name: model, ready: true };
  }

  @Post('models/:model/infer')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async infer(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const resolved = await this.registry.resolveVersion(tenantId, model, {});
    await this.forward(tenantId, resolved, request, reply);
  }

  @Post('models/:model/versions/:version/infer')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async inferVersion(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Param('version') version: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const resolved = await this.registry.resolveVersion(tenantId, model, {
      version: parseVersionNumber(version),
    });
    await this.forward(tenantId, resolved, request, reply);
  }

  private async metadataOf({ model, version }: ResolvedVersion) {
    const versions = await this.registry.readyVersionNumbers(model.id);
    return {
      name: model.name,
      versions: versions.map(String),
      platform: platformOf(version.format),
      inputs: version.inputs,
      outputs: version.outputs,
    };
  }

  private async forward(
    tenantId: string,
    { model, version }: ResolvedVersion,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const headers: Record<string, string> = {
      'x-request-id': request.id,
      'x-maas-tenant-id': tenantId,
    };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const body = request.body;
    const response = await this.worker.forward({
      method: 'POST',
      path: `/v2/models/${encodeURIComponent(model.name)}/versions/${version.number}/infer`,
      headers,
      body: body === undefined || body === null ? '' : (body as NodeJS.ReadableStream as never),
    });
    void reply.status(response.statusCode);
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers[name];
      if (typeof value === 'string') void reply.header(name, value);
    }
    await reply.send(response.body);
  }
}
