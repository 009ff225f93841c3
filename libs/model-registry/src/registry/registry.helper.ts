import { effectiveLimits, type TenantLimits } from '@maas/config';
import type { PrismaService } from '@maas/db';
import { MODEL_NAME_PATTERN } from '../validation/model-name.js';
import { modelNotFound, RegistryError } from './registry.errors.js';

// Checks and lookups the registry's services share. Every tenant-facing method queries through
// the tenant's scoped client (PrismaService.forTenant), so a foreign model is indistinguishable
// from a missing one; only the maintenance sweep acts across tenants.

const LABEL_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * A name no model can have (createModel enforces the pattern) is missing, without asking the
 * database: URL segments and bodies are hostile, and PostgreSQL fails on a NUL byte.
 */
export function assertPossibleModelName(name: string): void {
  if (!MODEL_NAME_PATTERN.test(name)) throw modelNotFound(name);
}

export function assertValidLabel(label: string): void {
  if (!LABEL_PATTERN.test(label)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `invalid label '${label}': use 1-63 characters of A-Z, a-z, 0-9, '_' and '-'`,
    );
  }
}

/** The tenant's limits: its plan's, with its quota row's overrides. */
export async function tenantLimits(prisma: PrismaService, tenantId: string): Promise<TenantLimits> {
  const tenant = await prisma.forTenant(tenantId).tenant.findUnique({
    where: { id: tenantId },
    include: { quota: true },
  });
  if (!tenant) throw new RegistryError('NOT_FOUND', 'tenant not found');
  return effectiveLimits(tenant.plan, tenant.quota);
}
