import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { PLANS } from '@maas/config';
import { ZodPipe } from '@maas/app-runtime';
import { z } from 'zod';
import { apiKeyView, ApiKeyService } from '../auth/api-key.service.js';
import { AdminGuard } from '../auth/guards.js';
import { API_KEY_SCOPES } from '../auth/principal.js';
import { json, NO_CONTENT, page, type RouteSpecs } from '../docs/route-spec.js';
import { ApiKeyCreatedView, ApiKeyView, TenantView } from '../docs/view-schemas.js';
import { PageQuery } from '../http/page-query.js';
import { assertUuid, tenantView, TenantsService } from './tenants.service.js';

const TenantCreateDto = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63'),
});
const ApiKeyCreateDto = z.object({
  name: z.string().min(1).max(100),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).optional(),
  expiresAt: z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value))
    .refine((date) => date.getTime() > Date.now(), 'must be in the future')
    .optional(),
});
const TenantUpdateDto = z
  .object({
    status: z.enum(['active', 'suspended']).optional(),
    plan: z
      .string()
      .refine((plan) => plan in PLANS, `plan must be one of ${Object.keys(PLANS).join(', ')}`)
      .optional(),
  })
  .strict();

export const adminTenantsRouteSpecs: RouteSpecs = {
  'POST /api/admin/tenants': {
    summary: 'Create a tenant {name}',
    body: TenantCreateDto,
    responses: { 201: json('The tenant', TenantView) },
    errors: [409],
  },
  'GET /api/admin/tenants': {
    summary: 'List tenants',
    query: PageQuery,
    responses: { 200: json('A page of tenants', page(TenantView)) },
  },
  'GET /api/admin/tenants/{id}': {
    summary: 'Get a tenant',
    responses: { 200: json('The tenant', TenantView) },
  },
  'PATCH /api/admin/tenants/{id}': {
    summary: 'Suspend or reactivate a tenant, or change its plan',
    body: TenantUpdateDto,
    responses: { 200: json('The tenant', TenantView) },
  },
  'DELETE /api/admin/tenants/{id}': {
    summary: 'Delete a tenant and everything it owns',
    responses: { 204: NO_CONTENT },
  },
  'POST /api/admin/tenants/{id}/api-keys': {
    summary: 'Create an API key {name, scopes?, expiresAt?}; the secret is in this answer only',
    body: ApiKeyCreateDto,
    responses: { 201: json('The key, with its secret', ApiKeyCreatedView) },
  },
  'GET /api/admin/tenants/{id}/api-keys': {
    summary: "List a tenant's API keys (no secrets)",
    responses: { 200: json('The keys', page(ApiKeyView)) },
  },
  'DELETE /api/admin/tenants/{id}/api-keys/{keyId}': {
    summary: 'Revoke an API key',
    responses: { 200: json('The revoked key', ApiKeyView) },
  },
};

@Controller('api/admin/tenants')
@UseGuards(AdminGuard)
export class AdminTenantsController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  @Post()
  async create(@Body(new ZodPipe(TenantCreateDto)) body: z.infer<typeof TenantCreateDto>) {
    return tenantView(await this.tenants.create(body.name));
  }

  @Get()
  async list(@Query(new ZodPipe(PageQuery)) query: z.infer<typeof PageQuery>) {
    const page = await this.tenants.list(query);
    return { items: page.items.map(tenantView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    return tenantView(await this.tenants.get(id));
  }

  @Patch(':id')
  async update(
    @Param('id') id: string,
    @Body(new ZodPipe(TenantUpdateDto)) body: z.infer<typeof TenantUpdateDto>,
  ) {
    return tenantView(await this.tenants.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string): Promise<void> {
    await this.tenants.delete(id);
  }

  @Post(':id/api-keys')
  async createKey(
    @Param('id') id: string,
    @Body(new ZodPipe(ApiKeyCreateDto)) body: z.infer<typeof ApiKeyCreateDto>,
  ) {
    const tenant = await this.tenants.get(id);
    return this.apiKeys.create(tenant.id, body);
  }

  @Get(':id/api-keys')
  async listKeys(@Param('id') id: string) {
    const tenant = await this.tenants.get(id);
    const keys = await this.apiKeys.list(tenant.id);
    return { items: keys.map(apiKeyView), nextCursor: null };
  }

  @Delete(':id/api-keys/:keyId')
  async revokeKey(@Param('id') id: string, @Param('keyId') keyId: string) {
    const tenant = await this.tenants.get(id);
    assertUuid(keyId, 'api key');
    return apiKeyView(await this.apiKeys.revoke(tenant.id, keyId));
  }
}
