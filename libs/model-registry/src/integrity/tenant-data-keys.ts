import type { PrismaService } from '@maas/db';
import { CodedError } from '../coded-error.js';
import {
  assertKeyLength,
  generateDataKey,
  type MasterKey,
  unwrapDataKey,
  wrapDataKey,
} from './envelope.js';

/** The master key that wrapped a tenant's data key is not configured here. */
export class MasterKeyUnavailableError extends CodedError {
  readonly code = 'UNAVAILABLE';
}

type TenantKeyStore = Pick<PrismaService, 'tenant'>;

/**
 * Envelope encryption: each tenant has its own AES-256 data key, created on first need and
 * stored only wrapped by the platform master key. Unwrapped keys are cached per process.
 * `previous` master keys are still accepted for unwrapping (a rolling master key rotation).
 */
export class TenantDataKeys {
  private readonly keys = new Map<string, Buffer>();
  private readonly ring: Map<string, Buffer>;

  constructor(
    private readonly prisma: TenantKeyStore,
    private readonly master: MasterKey,
    previous: MasterKey[] = [],
  ) {
    assertKeyLength(master.key, 'master key');
    this.ring = new Map([...previous, master].map((m) => [m.id, m.key]));
  }

  get masterKeyId(): string {
    return this.master.id;
  }

  /** The tenant's data key, created (and stored wrapped) when it has none yet. */
  async forTenant(tenantId: string): Promise<Buffer> {
    const cached = this.keys.get(tenantId);
    if (cached) return cached;
    let row = await this.prisma.tenant.findUnique({
      where: { id: tenantId },
      select: { dataKeyWrapped: true, masterKeyId: true },
    });
    if (!row) throw new MasterKeyUnavailableError(`tenant ${tenantId} does not exist`);
    if (!row.dataKeyWrapped) {
      // Only one concurrent creator wins; everyone then uses what is stored.
      await this.prisma.tenant.updateMany({
        where: { id: tenantId, dataKeyWrapped: null },
        data: {
          dataKeyWrapped: new Uint8Array(wrapDataKey(this.master, generateDataKey(), tenantId)),
          masterKeyId: this.master.id,
        },
      });
      row = await this.prisma.tenant.findUnique({
        where: { id: tenantId },
        select: { dataKeyWrapped: true, masterKeyId: true },
      });
    }
    if (!row?.dataKeyWrapped)
      throw new MasterKeyUnavailableError(`tenant ${tenantId} has no data key`);
    const master = this.ring.get(row.masterKeyId ?? '');
    if (!master) {
      throw new MasterKeyUnavailableError(
        `tenant ${tenantId}'s data key is wrapped by master key '${row.masterKeyId}', which is not configured`,
      );
    }
    const key = unwrapDataKey({ id: row.masterKeyId!, key: master }, row.dataKeyWrapped, tenantId);
    this.keys.set(tenantId, key);
    return key;
  }

  forget(tenantId: string): void {
    this.keys.delete(tenantId);
  }
}

export interface RotationResult {
  rewrapped: number;
  alreadyCurrent: number;
}

/**
 * Re-wraps every tenant data key held by `from` under `to`. Artifacts are untouched (they are
 * encrypted under the data keys, which do not change). Safe to re-run: tenants already on
 * `to` are skipped, and each update only applies while the row still names `from`.
 */
export async function rotateMasterKey(
  prisma: TenantKeyStore,
  from: MasterKey,
  to: MasterKey,
): Promise<RotationResult> {
  assertKeyLength(from.key, 'old master key');
  assertKeyLength(to.key, 'new master key');
  if (from.id === to.id) throw new Error('the new master key needs an id of its own');
  const tenants = await prisma.tenant.findMany({
    where: { dataKeyWrapped: { not: null } },
    select: { id: true, dataKeyWrapped: true, masterKeyId: true },
  });
  const result: RotationResult = { rewrapped: 0, alreadyCurrent: 0 };
  for (const tenant of tenants) {
    if (tenant.masterKeyId === to.id) {
      result.alreadyCurrent += 1;
      continue;
    }
    if (tenant.masterKeyId !== from.id) {
      throw new Error(
        `tenant ${tenant.id} is wrapped by master key '${tenant.masterKeyId}', neither '${from.id}' nor '${to.id}'`,
      );
    }
    const dataKey = unwrapDataKey(from, tenant.dataKeyWrapped!, tenant.id);
    const { count } = await prisma.tenant.updateMany({
      where: { id: tenant.id, masterKeyId: from.id },
      data: {
        dataKeyWrapped: new Uint8Array(wrapDataKey(to, dataKey, tenant.id)),
        masterKeyId: to.id,
      },
    });
    result.rewrapped += count;
  }
  return result;
}
