import { Injectable } from '@nestjs/common';
import { DomainError, notFound } from '@maas/app-runtime';
import { PrismaService, type Tenant } from '@maas/db';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id that is not even a UUID names nothing: 404 like any unknown id, never a 500. */
export function assertUuid(id: string, what: string): void {
  if (!UUID_PATTERN.test(id)) throw notFound(what);
}

export function tenantView(tenant: Tenant) {
  return {
    id: tenant.id,
    name: tenant.name,
    status: tenant.status,
    plan: tenant.plan,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
  };
}

@Injectable()
export class TenantsService {
  constructor(private readonly prisma: PrismaService) {}

  async create(name: string): Promise<Tenant> {
    try {
      return await this.prisma.tenant.create({ data: { name } });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') {
        throw new DomainError('ALREADY_EXISTS', `tenant '${name}' already exists`);
      }
      throw error;
    }
  }

  async list(page: { cursor?: string; limit: number }) {
    const rows = await this.prisma.tenant.findMany({
      where: page.cursor ? { name: { gt: page.cursor } } : {},
      orderBy: { name: 'asc' },
      take: page.limit + 1,
    });
    const items = rows.slice(0, page.limit);
    return { items, nextCursor: rows.length > page.limit ? items[items.length - 1].name : null };
  }

  async get(id: string): Promise<Tenant> {
    assertUuid(id, 'tenant');
    const tenant = await this.prisma.tenant.findUnique({ where: { id } });
    if (!tenant) throw notFound('tenant');
    return tenant;
  }
}
