/** A tenant's model placed on a thread: `release` when the model is gone (once is enough). */
export interface Placement {
  index: number;
  release(): void;
}

/**
 * Which of a worker's model threads each tenant's models live on (OrtThreads, TfjsThreads): all
 * of a tenant's models on one thread, its bulkhead (a tenant's slow model or cold load holds its
 * own thread), and a tenant new to the worker on the thread with the fewest tenants. A tenant
 * whose last model is released is placed afresh next time; so are the tenants of a thread that
 * stopped (`lost`).
 */
export class TenantPlacement {
  /** Per thread: live models per tenant. */
  private readonly tenants: Map<string, number>[];
  private readonly tenantThread = new Map<string, number>();
  /** Per thread: bumped when it stops, so releases of its earlier models change nothing. */
  private readonly generations: number[];

  constructor(size: number) {
    this.tenants = Array.from({ length: size }, () => new Map());
    this.generations = Array.from({ length: size }, () => 0);
  }

  /** Places one more model of `tenantId`: on its thread, else the one with the fewest tenants. */
  place(tenantId: string): Placement {
    let index = this.tenantThread.get(tenantId);
    if (index === undefined) {
      index = 0;
      for (let i = 1; i < this.tenants.length; i++) {
        if (this.tenants[i]!.size < this.tenants[index]!.size) index = i;
      }
      this.tenantThread.set(tenantId, index);
    }
    const on = this.tenants[index]!;
    on.set(tenantId, (on.get(tenantId) ?? 0) + 1);
    const generation = this.generations[index]!;
    let released = false;
    return {
      index,
      release: () => {
        if (released || this.generations[index] !== generation) return;
        released = true;
        const left = (on.get(tenantId) ?? 1) - 1;
        if (left > 0) on.set(tenantId, left);
        else {
          on.delete(tenantId);
          this.tenantThread.delete(tenantId);
        }
      },
    };
  }

  /** Thread `index` stopped: the models it held are gone, its tenants are placed afresh. */
  lost(index: number): void {
    this.generations[index]! += 1;
    for (const tenantId of this.tenants[index]!.keys()) this.tenantThread.delete(tenantId);
    this.tenants[index]!.clear();
  }

  /** The tenants with models on each thread. */
  tenantsOf(index: number): string[] {
    return [...this.tenants[index]!.keys()];
  }
}
