import { RegistryError } from './registry.errors.js';

/**
 * How many model uploads one process takes at once, in all and per tenant. Each holds up to
 * its size on the temp disk (plaintext for the validator, and with S3 the encrypted spool) and
 * waits for a validator, so the count bounds the temp disk; the per-tenant share keeps one
 * tenant from taking every slot. Past either: 429, nothing stored, no version number taken.
 */
export class UploadSlots {
  private inFlight = 0;
  private readonly byTenant = new Map<string, number>();

  constructor(
    readonly total: number,
    readonly perTenant: number,
  ) {
    const valid = (n: number) => n === Infinity || (Number.isInteger(n) && n >= 1);
    if (!valid(total) || !valid(perTenant)) {
      throw new RangeError('upload slots must be positive integers (or Infinity: no limit)');
    }
  }

  /** Takes a slot for the tenant; call the returned function (once) when the upload ends. */
  take(tenantId: string): () => void {
    const tenantCount = this.byTenant.get(tenantId) ?? 0;
    if (tenantCount >= this.perTenant) {
      throw new RegistryError(
        'RESOURCE_EXHAUSTED',
        `the tenant already has ${tenantCount} model uploads in progress here (the limit is ${this.perTenant}); retry when one has finished`,
      );
    }
    if (this.inFlight >= this.total) {
      throw new RegistryError(
        'RESOURCE_EXHAUSTED',
        `this server is taking ${this.inFlight} model uploads already (its limit); retry shortly`,
      );
    }
    this.inFlight += 1;
    this.byTenant.set(tenantId, tenantCount + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      const left = (this.byTenant.get(tenantId) ?? 1) - 1;
      if (left > 0) this.byTenant.set(tenantId, left);
      else this.byTenant.delete(tenantId);
    };
  }
}
