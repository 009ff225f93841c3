import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { DomainError, notFound, ZodPipe } from '@maas/app-runtime';
import { PrismaService, type User } from '@maas/db';
import { z } from 'zod';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { hashPassword } from '../auth/auth.service.js';
import { AdminGuard } from '../auth/guards.js';
import { assertUuid, TenantsService } from './tenants.service.js';

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
  constructor(
    private readonly tenants: TenantsService,
    private readonly prisma: PrismaService,
    private readonly invalidation: CacheInvalidationService,
  ) {}

  @Post()
  async create(
    @Param('id') id: string,
    @Body(new ZodPipe(UserCreateDto)) body: z.infer<typeof UserCreateDto>,
  ) {
    const tenant = await this.tenants.get(id);
    try {
      const user = await this.prisma.user.create({
        data: {
          email: body.email.toLowerCase(),
          passwordHash: await hashPassword(body.password),
          role: body.role,
          tenantId: tenant.id,
        },
      });
      return userView(user);
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') {
        throw new DomainError('ALREADY_EXISTS', 'a user with this email already exists');
      }
      throw error;
    }
  }

  @Get()
  async list(@Param('id') id: string) {
    const tenant = await this.tenants.get(id);
    const users = await this.prisma.user.findMany({
      where: { tenantId: tenant.id },
      orderBy: { createdAt: 'asc' },
    });
    return { items: users.map(userView), nextCursor: null };
  }

  @Delete(':userId')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Param('userId') userId: string): Promise<void> {
    const tenant = await this.tenants.get(id);
    assertUuid(userId, 'user');
    const { count } = await this.prisma.user.deleteMany({
      where: { id: userId, tenantId: tenant.id },
    });
    if (count === 0) throw notFound('user');
    await this.invalidation.publish({ kind: 'user', userId });
  }
}
