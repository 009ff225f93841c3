import { DomainError, setIoDeadline } from '@maas/app-runtime';
import type { InferenceMetrics } from '../inference/inference.metrics.js';

const MiB = 1024 * 1024;

/** A loaded version holding memory, as the cache sees it. */
export interface Resident {
  versionId: string;
  tenantId: string;
  bytes: number;
  lastUsed: number;
  /** Requests hold it: evicting it frees its memory only once they are done. */
  inUse: boolean;
  /** Evicted already, waiting for its last request: still counted, never evicted again. */
  draining: boolean;
}

/** Why a version left the cache: room for a load, its tenant's share, or its thread stopped. */
export type EvictionReason = 'budget' | 'tenant_share' | 'thread_lost';

export interface BudgetLimits {
  /** MODEL_CACHE_BYTES */
  budgetBytes: number;
  /** MODEL_CACHE_BYTES × MODEL_CACHE_TENANT_SHARE */
  tenantShareBytes: number;
  maxConcurrentLoads: number;
  /**
   * Loads one tenant may hold at once (MAX_CONCURRENT_LOADS_PER_TENANT): a tenant flooding
   * cold versions takes this many slots and the CPU they burn, never all of them.
   */
  maxLoadsPerTenant: number;
  /** How long a load waits for memory or a slot before it is refused with 503. */
  waitMs: number;
  /**
   * The share of wall time one tenant's loads may hold a load slot while other tenants are
   * being served (LOAD_TIME_SHARE_PER_TENANT, 0 < share ≤ 1): after a load of d ms its tenant
   * starts no other for d × (1 / share − 1) ms. 1 (and a worker nobody else uses): no pause.
   */
  loadTimeShare: number;
}

/** How recently another tenant must have been served for a tenant's loads to pause. */
export const OTHERS_ACTIVE_MS = 1_000;

export interface BudgetResidents {
  residents(): Iterable<Resident>;
  /** Whether a tenant other than `tenantId` had a request served within the last `ms`. */
  othersServedWithin(tenantId: string, ms: number): boolean;
  /** Releases it now when idle; otherwise it drains (still a resident, `draining`). */
  evict(versionId: string, reason: EvictionReason): void;
}

interface Waiter {
  tenantId: string;
  bytes: number;
  seq: number;
  grant(reservation: LoadReservation): void;
  refuse(error: Error): void;
  timer?: NodeJS.Timeout;
  /** Held back by its tenant's pause at least once (counted once). */
  paused?: boolean;
}

/** Memory a load holds from before it reads a byte until its version is resident (or failed). */
export class LoadReservation {
  private released = false;
  /** When the slot was granted (performance.now()): how long the load held it. */
  readonly grantedAt = performance.now();

  constructor(
    private readonly budget: ModelMemoryBudget,
    readonly tenantId: string,
    public bytes: number,
  ) {}

  /**
   * Adjusts the reservation to what the load turned out to need. Shrinking always works;
   * growing only when the bytes fit now, without evicting or waiting (false otherwise).
   */
  resize(bytes: number): boolean {
    if (this.released) return false;
    if (bytes > this.bytes && !this.budget.fitsNow(this.tenantId, bytes - this.bytes)) return false;
    this.bytes = bytes;
    this.budget.resized();
    return true;
  }

  /** Gives the bytes back (the version is now a resident, or the load failed). Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.drop(this);
  }
}

/**
 * Admission control for model loads, keyed on bytes: a load reserves its estimated memory
 * before it reads the artifact, against MODEL_CACHE_BYTES and its tenant's share of it, with
 * loaded versions and other loads' reservations counted. Room is made by evicting least
 * recently used versions (idle ones first): the tenant's own when it is over its share, never
 * another tenant's; anyone's when the whole budget is short. A load that cannot fit yet
 * waits (for loads to finish, draining versions to be released), at most `waitMs`, then gets
 * 503 with Retry-After; one that alone needs more than a tenant share is refused (413).
 * At most `maxConcurrentLoads` hold reservations at once, at most `maxLoadsPerTenant` of them
 * one tenant's; a freed slot goes to the waiting load of the tenant with the fewest loads
 * running, so one tenant's cold-start flood can neither queue ahead of everyone else nor burn
 * every slot's CPU.
 */
export class ModelMemoryBudget {
  private readonly active = new Set<LoadReservation>();
  private waiters: Waiter[] = [];
  private seq = 0;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;
  /** Per tenant: when its next load may start while others are being served (loadTimeShare). */
  private readonly nextLoadAt = new Map<string, number>();
  private pauseTimer?: NodeJS.Timeout;

  constructor(
    readonly limits: BudgetLimits,
    private readonly cache: BudgetResidents,
    private readonly metrics: InferenceMetrics,
  ) {}

  get reservedBytes(): number {
    let total = 0;
    for (const reservation of this.active) total += reservation.bytes;
    return total;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get inProgress(): number {
    return this.active.size;
  }

  /**
   * Waits for `bytes` of memory and a load slot for `tenantId`. `what` names the version in
   * the refusal a client may see.
   */
  reserve(tenantId: string, bytes: number, what: string): Promise<LoadReservation> {
    if (this.closed) {
      return Promise.reject(new DomainError('UNAVAILABLE', 'the worker is shutting down'));
    }
    if (bytes > this.limits.tenantShareBytes) return Promise.reject(this.tooLarge(bytes, what));
    return new Promise<LoadReservation>((resolve, reject) => {
      const waiter: Waiter = {
        tenantId,
        bytes,
        seq: this.seq++,
        grant: (reservation) => {
          clearTimeout(waiter.timer);
          resolve(reservation);
        },
        refuse: (error) => {
          clearTimeout(waiter.timer);
          reject(error);
        },
      };
      this.waiters.push(waiter);
      this.pump();
      if (!this.waiters.includes(waiter)) return;
      // (A grant that a stalled process finds waiting with the expired deadline still counts.)
      waiter.timer = setIoDeadline(() => {
        if (!this.waiters.includes(waiter)) return; // granted or refused meanwhile
        this.removeWaiter(waiter);
        this.metrics.loadRefusals.inc({ reason: 'wait_timeout' });
        reject(busy());
      }, this.limits.waitMs);
    });
  }

  /**
   * 413, not 503: no wait or retry makes room for a version larger than a tenant's share of a
   * worker (a permanent limit of this deployment, like an upload over MAX_UPLOAD_BYTES); a
   * Retry-After would only invite a loop. The version stays ready: a larger worker can serve it.
   */
  tooLarge(bytes: number, what: string): DomainError {
    this.metrics.loadRefusals.inc({ reason: 'too_large' });
    return new DomainError(
      'PAYLOAD_TOO_LARGE',
      `${what} needs an estimated ${mib(bytes)} of memory to serve, more than one tenant may hold on an inference worker (${mib(this.limits.tenantShareBytes)})`,
    );
  }

  /** Whether `bytes` more for `tenantId` fit right now, evicting nothing. */
  fitsNow(tenantId: string, bytes: number): boolean {
    const { tenantUsed, total } = this.usage(tenantId, [...this.cache.residents()]);
    return (
      tenantUsed + bytes <= this.limits.tenantShareBytes && total + bytes <= this.limits.budgetBytes
    );
  }

  /** Something was freed (a version released, a request ended): waiting loads may fit. */
  changed(): void {
    if (this.waiters.length > 0) this.pump();
  }

  /** Refuses every waiting load (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.pauseTimer);
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      waiter.refuse(new DomainError('UNAVAILABLE', 'the worker is shutting down'));
    }
    this.metrics.loadsPaused.set(0);
    this.updateGauges();
  }

  /** @internal by LoadReservation */
  drop(reservation: LoadReservation): void {
    this.active.delete(reservation);
    const share = this.limits.loadTimeShare;
    if (share < 1) {
      const now = performance.now();
      const pause = (now - reservation.grantedAt) * (1 / share - 1);
      const next = Math.max(this.nextLoadAt.get(reservation.tenantId) ?? 0, now + pause);
      this.nextLoadAt.set(reservation.tenantId, next);
    }
    this.changed();
    this.updateGauges();
  }

  /** @internal by LoadReservation */
  resized(): void {
    this.changed();
    this.updateGauges();
  }

  private removeWaiter(waiter: Waiter): void {
    this.waiters = this.waiters.filter((w) => w !== waiter);
    // (It may have been the paused one: the pause gauge and timer follow.)
    this.wakeAfterPauses();
    this.updateGauges();
  }

  private pump(): void {
    if (this.pumping) {
      // An eviction released a version, which called back here: the running loop rechecks.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        let granted = true;
        while (
          granted &&
          this.waiters.length > 0 &&
          this.active.size < this.limits.maxConcurrentLoads
        ) {
          granted = false;
          for (const waiter of this.grantOrder()) {
            if (this.tryGrant(waiter)) {
              granted = true;
              break;
            }
          }
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.wakeAfterPauses();
    this.updateGauges();
  }

  /**
   * Tenants with the fewest loads running first, then first come; a tenant already holding
   * maxLoadsPerTenant waits for one of its own to finish.
   */
  private grantOrder(): Waiter[] {
    const running = new Map<string, number>();
    for (const r of this.active) running.set(r.tenantId, (running.get(r.tenantId) ?? 0) + 1);
    const now = performance.now();
    return this.waiters
      .filter((w) => (running.get(w.tenantId) ?? 0) < this.limits.maxLoadsPerTenant)
      .filter((w) => {
        if (!this.paused(w.tenantId, now)) return true;
        if (!w.paused) this.metrics.loadPauses.inc();
        w.paused = true;
        return false;
      })
      .sort(
        (a, b) => (running.get(a.tenantId) ?? 0) - (running.get(b.tenantId) ?? 0) || a.seq - b.seq,
      );
  }

  /**
   * Whether `tenantId`'s loads wait out their pause (loadTimeShare): only while another tenant
   * is being served or loading, so a worker nobody else uses loads at full speed.
   */
  private paused(tenantId: string, now: number): boolean {
    const next = this.nextLoadAt.get(tenantId);
    if (next === undefined) return false;
    if (next <= now) {
      this.nextLoadAt.delete(tenantId);
      return false;
    }
    const othersLoading = [...this.active].some((r) => r.tenantId !== tenantId);
    return othersLoading || this.cache.othersServedWithin(tenantId, OTHERS_ACTIVE_MS);
  }

  /** Pumps again when the earliest pause of a waiting tenant ends. */
  private wakeAfterPauses(): void {
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    const now = performance.now();
    let earliest = Infinity;
    let paused = 0;
    for (const w of this.waiters) {
      if (!this.paused(w.tenantId, now)) continue;
      paused++;
      earliest = Math.min(earliest, this.nextLoadAt.get(w.tenantId)!);
    }
    this.metrics.loadsPaused.set(paused);
    if (earliest === Infinity) return;
    this.pauseTimer = setTimeout(() => this.changed(), Math.ceil(earliest - now));
    this.pauseTimer.unref();
  }

  private usage(tenantId: string, residents: Resident[]): { tenantUsed: number; total: number } {
    let tenantUsed = 0;
    let total = 0;
    for (const r of residents) {
      total += r.bytes;
      if (r.tenantId === tenantId) tenantUsed += r.bytes;
    }
    for (const r of this.active) {
      total += r.bytes;
      if (r.tenantId === tenantId) tenantUsed += r.bytes;
    }
    return { tenantUsed, total };
  }

  /**
   * Grants the waiter when its bytes fit, evicting what it takes. Evicts nothing when even
   * evicting everything allowed would not make room (the rest is other loads in progress).
   * Versions in use only start draining: the waiter is granted once they are released.
   */
  private tryGrant(waiter: Waiter): boolean {
    const residents = [...this.cache.residents()];
    const { tenantShareBytes: share, budgetBytes: budget } = this.limits;
    let { tenantUsed, total } = this.usage(waiter.tenantId, residents);
    // Memory already on its way out counts as free for planning, not for granting.
    let tenantLeaving = 0;
    let totalLeaving = 0;
    for (const r of residents) {
      if (!r.draining) continue;
      totalLeaving += r.bytes;
      if (r.tenantId === waiter.tenantId) tenantLeaving += r.bytes;
    }
    const evictions: [Resident, EvictionReason][] = [];
    const chosen = new Set<Resident>();
    const take = (r: Resident, reason: EvictionReason) => {
      evictions.push([r, reason]);
      chosen.add(r);
      if (r.inUse) {
        totalLeaving += r.bytes;
        if (r.tenantId === waiter.tenantId) tenantLeaving += r.bytes;
      } else {
        total -= r.bytes;
        if (r.tenantId === waiter.tenantId) tenantUsed -= r.bytes;
      }
    };
    // Over its share, a tenant makes room among its own versions only (a share of the whole
    // budget is no limit of its own: the budget below decides).
    if (share < budget) {
      for (const r of evictionOrder(residents.filter((r) => r.tenantId === waiter.tenantId))) {
        if (tenantUsed - tenantLeaving + waiter.bytes <= share) break;
        take(r, 'tenant_share');
      }
      if (tenantUsed - tenantLeaving + waiter.bytes > share) return false;
    }
    for (const r of evictionOrder(residents.filter((r) => !chosen.has(r)))) {
      if (total - totalLeaving + waiter.bytes <= budget) break;
      take(r, 'budget');
    }
    if (total - totalLeaving + waiter.bytes > budget) return false;

    for (const [r, reason] of evictions) this.cache.evict(r.versionId, reason);
    const now = this.usage(waiter.tenantId, [...this.cache.residents()]);
    if (now.tenantUsed + waiter.bytes > share || now.total + waiter.bytes > budget) return false;

    this.waiters = this.waiters.filter((w) => w !== waiter);
    const reservation = new LoadReservation(this, waiter.tenantId, waiter.bytes);
    this.active.add(reservation);
    waiter.grant(reservation);
    return true;
  }

  private updateGauges(): void {
    this.metrics.loadReservedBytes.set(this.reservedBytes);
    this.metrics.loadsWaiting.set(this.waiters.length);
    this.metrics.loadsInProgress.set(this.active.size);
  }
}

/** Idle before in use (in use only drains), then least recently used; never one draining. */
function evictionOrder(residents: Resident[]): Resident[] {
  return residents
    .filter((r) => !r.draining)
    .sort((a, b) => Number(a.inUse) - Number(b.inUse) || a.lastUsed - b.lastUsed);
}

function busy(): DomainError {
  const error = new DomainError(
    'UNAVAILABLE',
    'the inference worker is busy loading other models; retry shortly',
  ) as DomainError & { retryAfterSeconds: number };
  error.retryAfterSeconds = 1;
  return error;
}

function mib(bytes: number): string {
  return bytes < MiB ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}
