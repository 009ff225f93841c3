import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ZodPipe } from '@maas/app-runtime';
import type { User } from '@maas/db';
import { z } from 'zod';
import { AdminGuard } from '../auth/guards.js';
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
