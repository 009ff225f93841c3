import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ZodPipe } from '@maas/app-runtime';
import type { User } from '@maas/db';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
import { json, NO_CONTENT, page, type RouteSpecs } from '../docs/route-spec.js';
import { UserView } from '../docs/view-schemas.js';
import { TenantUsersService } from './tenant-users.service.js';

const UserCreateDto = z.object({
  email: z.email().max(320),
  password: z.string().min(12, 'at least 12 characters').max(1024),
  role: z.enum(['owner', 'developer', 'viewer']),
});

export function userView(user: User) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    tenantId: user.tenantId,
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

export const adminUsersRouteSpecs: RouteSpecs = {
  'POST /api/admin/tenants/{id}/users': {
    summary: 'Add a member {email, password, role: owner | developer | viewer}',
    body: UserCreateDto,
    responses: { 201: json('The user', UserView) },
    errors: [409],
  },
  'GET /api/admin/tenants/{id}/users': {
    summary: "A tenant's members",
    responses: { 200: json('The users', page(UserView)) },
  },
  'DELETE /api/admin/tenants/{id}/users/{userId}': {
    summary: 'Remove a member',
    responses: { 204: NO_CONTENT },
  },
};

/** Tenant members (owner | developer | viewer), managed by platform admins. */
@Controller('api/admin/tenants/:id/users')
@UseGuards(AdminGuard)
export class AdminUsersController {
  constructor(private readonly users: TenantUsersService) {}

  @Post()
  async create(
    @Param('id') id: string,
    @Body(new ZodPipe(UserCreateDto)) body: z.infer<typeof UserCreateDto>,
  ) {
    return userView(await this.users.create(id, body));
  }

  @Get()
  async list(@Param('id') id: string) {
    const users = await this.users.list(id);
    return { items: users.map(userView), nextCursor: null };
  }

  @Delete(':userId')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Param('userId') userId: string): Promise<void> {
    await this.users.delete(id, userId);
  }
}
