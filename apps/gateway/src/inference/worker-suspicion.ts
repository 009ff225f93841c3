/** Why a worker is routed around for now. */
export type SuspicionReason = 'unreachable' | 'timeouts';

export interface SuspicionPolicy {
  /** A worker that refused a connection is tried last for this long. */
  unreachableMs: number;
  /** Timeouts within `windowMs`, from at least two tenants, that make a worker suspect... */
  timeouts: number;
  windowMs: number;
  /** ... for this long; then it takes its rendezvous place again, its count cleared. */
  cooldownMs: number;
}

interface Timeout {
  at: number;
  tenantId: string;
}

/** Workers remembered at most (each a few timestamps); the rest are forgotten first. */
const MAX_TRACKED_WORKERS = 1000;

/**
 * Which workers the gateway routes around for now (tried last: the version goes to the next
 * worker in rendezvous order). A worker that refused a connection, for a few seconds; one whose
 * requests keep running past the deadline, for a cool-down, even while its heartbeat says it is
 * alive — a worker whose CPU is starved, which swaps, or whose network path half-works still
 * heartbeats. Timeouts of one tenant alone never make a worker suspect: a tenant's slow model
 * delays its own requests, and must not move every other tenant's versions off a healthy worker.
 * Pure bookkeeping with an injected clock; WorkerDirectory applies it.
 */
export class WorkerSuspicion {
  private readonly until = new Map<string, number>();
  private readonly timeouts = new Map<string, Timeout[]>();

  constructor(
    private readonly policy: SuspicionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Workers suspect now or lately (0: nothing to check on the hot path). */
  get size(): number {
    return this.until.size;
  }

  /** Whether to route around the worker now; a cool-down that ran out is forgotten. */
  isSuspect(url: string, now = this.now()): boolean {
    const until = this.until.get(url);
    if (until === undefined) return false;
    if (until > now) return true;
    this.until.delete(url);
    return false;
  }

  /** A connection to it failed: try it last for a few seconds. */
  markUnreachable(url: string): void {
    this.suspect(url, this.policy.unreachableMs);
  }

  /**
   * A request to it ran past the deadline. True when this made it suspect (the caller logs it
   * once); timeouts while it is suspect already are not counted.
   */
  noteTimeout(url: string, tenantId: string): boolean {
    const now = this.now();
    if (this.isSuspect(url, now)) return false;
    const since = now - this.policy.windowMs;
    const recent = (this.timeouts.get(url) ?? []).filter((t) => t.at > since);
    recent.push({ at: now, tenantId });
    // Only the newest `timeouts` entries can decide; older ones leave the window first.
    if (recent.length > this.policy.timeouts) recent.shift();
    const tenants = new Set(recent.map((t) => t.tenantId)).size;
    if (recent.length >= this.policy.timeouts && tenants >= 2) {
      this.timeouts.delete(url);
      this.suspect(url, this.policy.cooldownMs);
      return true;
    }
    if (!this.timeouts.has(url) && this.timeouts.size >= MAX_TRACKED_WORKERS) this.timeouts.clear();
    this.timeouts.set(url, recent);
    return false;
  }

  /**
   * A new worker process took this URL (it restarted, or another took its address): what was
   * suspected of the one before, refused connections or timeouts, says nothing of it.
   */
  forget(url: string): void {
    this.until.delete(url);
    this.timeouts.delete(url);
  }

  private suspect(url: string, forMs: number): void {
    const until = this.now() + forMs;
    // A longer suspicion (a cool-down) is not cut short by a brief one.
    if ((this.until.get(url) ?? 0) < until) this.until.set(url, until);
  }
}
