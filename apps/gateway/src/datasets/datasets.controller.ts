import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { TenantAuthGuard } from '../auth/guards.js';
import {
  actorOf,
  CurrentPrincipal,
  CurrentTenantId,
  type Principal,
  RequireScope,
} from '../auth/principal.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { json, NO_CONTENT, page, type RouteSpecs } from '../docs/route-spec.js';
import { DatasetView } from '../docs/view-schemas.js';
import { PageQuery } from '../http/page-query.js';
import { uploadBody } from '../models/upload-body.js';
import { datasetView, DatasetsService } from './datasets.service.js';

const DatasetUploadQuery = z.object({ name: z.string().min(1).max(200) });

export const datasetsRouteSpecs: RouteSpecs = {
  'POST /api/datasets': {
    summary: 'Upload a CSV dataset: raw text/csv body or multipart field `file`; ?name=',
    query: DatasetUploadQuery,
    body: [
      { contentType: 'text/csv', schema: { type: 'string' } },
      {
        contentType: 'multipart/form-data',
        schema: {
          type: 'object',
          properties: { file: { type: 'string', contentMediaType: 'text/csv' } },
          required: ['file'],
        },
      },
    ],
    responses: { 201: json('The profiled dataset', DatasetView) },
    errors: [413, 415, 422],
  },
  'GET /api/datasets': {
    summary: 'List datasets',
    query: PageQuery,
    responses: { 200: json('A page of datasets', page(DatasetView)) },
  },
  'GET /api/datasets/{id}': {
    summary: 'Get a dataset',
    responses: { 200: json('The dataset', DatasetView) },
  },
  'DELETE /api/datasets/{id}': {
    summary: 'Delete a dataset (409 while a training job uses it)',
    responses: { 204: NO_CONTENT },
    errors: [409],
  },
};

@Controller('api/datasets')
@UseGuards(TenantAuthGuard)
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** A CSV as the raw body (text/csv) or the multipart field `file`. */
  @Post()
  @RequireScope('train')
  async upload(
    @CurrentTenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(DatasetUploadQuery)) query: z.infer<typeof DatasetUploadQuery>,
    @Req() request: FastifyRequest,
  ) {
    const dataset = await this.datasets.upload(tenantId, {
      name: query.name,
      body: await uploadBody(request),
      maxBytes: this.config.MAX_DATASET_BYTES,
      createdBy: actorOf(principal),
    });
    return datasetView(dataset);
  }

  @Get()
  @RequireScope('train')
  async list(
    @CurrentTenantId() tenantId: string,
    @Query(new ZodPipe(PageQuery)) query: z.infer<typeof PageQuery>,
  ) {
    const page = await this.datasets.list(tenantId, query);
    return { items: page.items.map(datasetView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @RequireScope('train')
  async get(@CurrentTenantId() tenantId: string, @Param('id') id: string) {
    return datasetView(await this.datasets.get(tenantId, id));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('train')
  async delete(@CurrentTenantId() tenantId: string, @Param('id') id: string): Promise<void> {
    await this.datasets.delete(tenantId, id);
  }
}
