import { Injectable } from '@nestjs/common';
import { DomainError, notFound } from '@maas/app-runtime';
import { PrismaService, type User } from '@maas/db';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { hashPassword } from '../auth/auth.service.js';
import { assertUuid, TenantsService } from './tenants.service.js';

export interface TenantUserCreate {
  email: string;
  password: string;
  role: 'owner' | 'developer' | 'viewer';
}

/** A tenant's members, read and written through the tenant's scoped client. */
@Injectable()
export class TenantUsersService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly tenants: TenantsService,
    private readonly invalidation: CacheInvalidationService,
  ) {}

  async create(tenantId: string, user: TenantUserCreate): Promise<User> {
    const tenant = await this.tenants.get(tenantId);
    try {
      return await this.prisma.forTenant(tenant.id).user.create({
        data: {
          email: user.email.toLowerCase(),
          passwordHash: await hashPassword(user.password),
          role: user.role,
        },
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') {
        throw new DomainError('ALREADY_EXISTS', 'a user with this email already exists');
      }
      throw error;
    }
  }

  async list(tenantId: string): Promise<User[]> {
    const tenant = await this.tenants.get(tenantId);
    return this.prisma.forTenant(tenant.id).user.findMany({ orderBy: { createdAt: 'asc' } });
  }

  /** Removes the member; their sessions stop working within a second (cache invalidation). */
  async delete(tenantId: string, userId: string): Promise<void> {
    const tenant = await this.tenants.get(tenantId);
    assertUuid(userId, 'user');
    const { count } = await this.prisma.forTenant(tenant.id).user.deleteMany({
      where: { id: userId },
    });
    if (count === 0) throw notFound('user');
    await this.invalidation.publish({ kind: 'user', userId });
  }
}
