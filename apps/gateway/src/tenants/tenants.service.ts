import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DomainError, notFound } from '@maas/app-runtime';
import { PrismaService, type Tenant } from '@maas/db';
import { RegistryMaintenanceService } from '@maas/model-registry';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';

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
  constructor(
    private readonly prisma: PrismaService,
    private readonly moduleRef: ModuleRef,
    private readonly invalidation: CacheInvalidationService,
  ) {}

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

  /** Suspend/resume and plan changes; keys of a suspended tenant stop working within a second. */
  async update(id: string, changes: { status?: 'active' | 'suspended'; plan?: string }) {
    const tenant = await this.get(id);
    const updated = await this.prisma.tenant.update({ where: { id: tenant.id }, data: changes });
    await this.invalidation.publish({ kind: 'tenant', tenantId: tenant.id });
    return updated;
  }

  /** Removes the tenant, its rows (cascade) and its stored bytes. */
  async delete(id: string): Promise<Tenant> {
    const tenant = await this.get(id);
    // Suspended first, so that nothing new is written while the bytes are removed.
    await this.prisma.tenant.update({ where: { id: tenant.id }, data: { status: 'suspended' } });
    await this.invalidation.publish({ kind: 'tenant', tenantId: tenant.id });
    const maintenance = this.moduleRef.get(RegistryMaintenanceService, { strict: false }) as
      | (RegistryMaintenanceService & { purgeTenant?: (tenantId: string) => Promise<unknown> })
      | undefined;
    if (typeof maintenance?.purgeTenant === 'function') await maintenance.purgeTenant(tenant.id);
    await this.prisma.tenant.delete({ where: { id: tenant.id } });
    await this.invalidation.publish({ kind: 'tenant', tenantId: tenant.id });
    return tenant;
  }
}
