import { Body, Controller, Get, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError, ZodPipe } from '@maas/app-runtime';
import { modelView, ModelRegistryService, versionView } from '@maas/model-registry';
import { z } from 'zod';
import { Inject } from '@nestjs/common';
import { TenantAuthGuard } from '../auth/guards.js';
import {
  actorOf,
  CurrentPrincipal,
  CurrentTenantId,
  type Principal,
  RequireScope,
} from '../auth/principal.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { PageQuery } from '../tenants/admin-tenants.controller.js';
import { uploadBody } from './upload-body.js';

const ModelCreateDto = z.object({
  name: z.string().min(1).max(63),
  description: z.string().max(2000).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
const UploadQuery = z.object({ format: z.enum(['onnx', 'tfjs']).default('onnx') });

export function parseVersionNumber(raw: string): number {
  const value = Number(raw);
  if (!/^[0-9]{1,9}$/.test(raw) || value < 1) {
    throw new DomainError('INVALID_ARGUMENT', `version must be a positive integer, got '${raw}'`);
  }
  return value;
}

@Controller('api/models')
@UseGuards(TenantAuthGuard)
export class ModelsController {
  constructor(
    private readonly registry: ModelRegistryService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post()
  @RequireScope('models:write')
  async create(
    @CurrentTenantId() tenantId: string,
    @Body(new ZodPipe(ModelCreateDto)) body: z.infer<typeof ModelCreateDto>,
  ) {
    return modelView(await this.registry.createModel(tenantId, body));
  }

  @Get()
  @RequireScope('models:read')
  async list(
    @CurrentTenantId() tenantId: string,
    @Query(new ZodPipe(PageQuery)) query: z.infer<typeof PageQuery>,
  ) {
    const page = await this.registry.listModels(tenantId, query);
    return { items: page.items.map(modelView), nextCursor: page.nextCursor };
  }

  @Get(':name')
  @RequireScope('models:read')
  async get(@CurrentTenantId() tenantId: string, @Param('name') name: string) {
    return modelView(await this.registry.getModel(tenantId, name));
  }

  @Post(':name/versions')
  @RequireScope('models:write')
  async upload(
    @CurrentTenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Query(new ZodPipe(UploadQuery)) query: z.infer<typeof UploadQuery>,
    @Req() request: FastifyRequest,
  ) {
    const model = await this.registry.getModel(tenantId, name);
    const version = await this.registry.uploadVersion(tenantId, name, {
      format: query.format,
      body: await uploadBody(request),
      maxBytes: this.config.MAX_UPLOAD_BYTES,
      createdBy: actorOf(principal),
    });
    return versionView(model, version);
  }

  @Get(':name/versions')
  @RequireScope('models:read')
  async listVersions(@CurrentTenantId() tenantId: string, @Param('name') name: string) {
    const model = await this.registry.getModel(tenantId, name);
    const versions = await this.registry.listVersions(tenantId, name);
    return { items: versions.map((v) => versionView(model, v)), nextCursor: null };
  }

  @Get(':name/versions/:version')
  @RequireScope('models:read')
  async getVersion(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ) {
    const model = await this.registry.getModel(tenantId, name);
    return versionView(
      model,
      await this.registry.getVersion(tenantId, name, parseVersionNumber(version)),
    );
  }
}
