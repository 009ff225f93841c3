import { Injectable } from '@nestjs/common';
import type { TenantLimits } from '@maas/config';
import { PrismaService } from '@maas/db';
import { tenantLimits } from './registry.helper.js';
import { RegistryError } from './registry.errors.js';

// Versions whose bytes are (or may still be) in storage count against the storage quota.
const STORED_STATUSES = ['uploading', 'validating', 'ready', 'corrupt', 'quarantined'] as const;

/**
 * A tenant's storage quota: the bytes its model artifacts and datasets hold, the room a new
 * object may take, and the check after its bytes are recorded.
 */
@Injectable()
export class StorageQuotaService {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Bytes that count against the tenant's storage quota: its model artifacts (plaintext sizes,
   * trained versions' TF.js copies included) and its datasets.
   */
  async storageUsed(tenantId: string): Promise<number> {
    const db = this.prisma.forTenant(tenantId);
    const [versions, datasets] = await Promise.all([
      db.modelVersion.aggregate({
        where: { status: { in: [...STORED_STATUSES] }, model: { deletedAt: null } },
        _sum: { sizeBytes: true, tfjsSizeBytes: true },
      }),
      db.dataset.aggregate({
        where: { deletedAt: null },
        _sum: { sizeBytes: true },
      }),
    ]);
    return (
      Number(versions._sum.sizeBytes ?? 0) +
      Number(versions._sum.tfjsSizeBytes ?? 0) +
      Number(datasets._sum.sizeBytes ?? 0)
    );
  }

  /**
   * After an object's bytes are recorded (its row counts in storageUsed): throws the quota
   * error when the tenant is now past its storage quota. Concurrent uploads each passed
   * storageAllowance on their own; whichever checks here after the total went over fails (and
   * its caller removes it), so the quota is never exceeded, at worst refused one too many.
   */
  async assertWithinStorageQuota(tenantId: string, objectBytes: number): Promise<void> {
    const [limits, used] = await Promise.all([
      tenantLimits(this.prisma, tenantId),
      this.storageUsed(tenantId),
    ]);
    if (used > limits.storageBytes) throw quotaExceeded(limits, used - objectBytes);
  }

  /**
   * The most bytes a new object of the tenant may hold: `maxBytes`, or less when the storage
   * quota has less room. `quotaBound` says the quota (not `maxBytes`) set the bound, so a
   * too-large upload can say which limit it hit. No room at all is refused here.
   */
  async storageAllowance(
    tenantId: string,
    maxBytes: number,
  ): Promise<{ maxBytes: number; quotaBound: boolean; quotaExceeded: () => Error }> {
    const limits = await tenantLimits(this.prisma, tenantId);
    const used = await this.storageUsed(tenantId);
    const remaining = limits.storageBytes - used;
    if (remaining <= 0) throw quotaExceeded(limits, used);
    return {
      maxBytes: Math.min(maxBytes, remaining),
      quotaBound: remaining < maxBytes,
      quotaExceeded: () => quotaExceeded(limits, used, remaining),
    };
  }
}

function quotaExceeded(limits: TenantLimits, used: number, maxBytes?: number): RegistryError {
  return new RegistryError(
    'PAYLOAD_TOO_LARGE',
    `storage quota exceeded: ${used} of ${limits.storageBytes} bytes are in use` +
      (maxBytes !== undefined ? `, so an upload may hold at most ${maxBytes} bytes` : '') +
      '; delete versions or models, or ask for a larger quota',
  );
}
