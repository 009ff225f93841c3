/**
 * Hands a model thread its work one tenant's turn at a time. A thread runs the calls posted to it
 * in the order they came, each to its end (onnxruntime and TF.js compute synchronously there),
 * so where tenants share a thread (more tenants than threads) a tenant with many calls in flight
 * (one per version: ten versions, ten calls) held every other tenant's call behind all of its
 * own. Here at most `window` calls are posted to the thread at once; the rest wait, queued per
 * tenant, and are posted a tenant at a time, round robin: another tenant's call waits behind at
 * most `window` of A's, however many A has queued. Two by default: one computing and the next
 * already in the thread's port, so a busy thread never idles for the event loop's round trip
 * between two calls. A lone tenant's calls, and one call at a time, are posted at once as before.
 */
export class TenantTurns {
  private posted = 0;
  /** Calls posted and not yet answered, by tenant. */
  private readonly postedBy = new Map<string, number>();
  /** Tenants with calls waiting, in turn order (a Map keeps insertion order). */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly window = 2) {}

  /** Calls waiting for their turn (for tests and metrics). */
  get queued(): number {
    let count = 0;
    for (const queue of this.waiting.values()) count += queue.length;
    return count;
  }

  /** Runs `post` (posting a call to the thread, resolving with its answer) in `tenantId`'s turn. */
  async run<T>(tenantId: string, post: () => Promise<T>): Promise<T> {
    if (this.posted < this.window && this.waiting.size === 0) this.count(tenantId, 1);
    else await new Promise<void>((go) => this.enqueue(tenantId, go));
    try {
      return await post();
    } finally {
      this.count(tenantId, -1);
      this.next();
    }
  }

  private count(tenantId: string, change: 1 | -1): void {
    this.posted += change;
    const count = (this.postedBy.get(tenantId) ?? 0) + change;
    if (count === 0) this.postedBy.delete(tenantId);
    else this.postedBy.set(tenantId, count);
  }

  private enqueue(tenantId: string, go: () => void): void {
    const queue = this.waiting.get(tenantId);
    if (queue) queue.push(go);
    else this.waiting.set(tenantId, [go]);
  }

  /**
   * Posts waiting calls while the window has room: the waiting tenant with the fewest calls on
   * the thread first (the earliest in turn order among equals), which then goes last.
   */
  private next(): void {
    while (this.posted < this.window && this.waiting.size > 0) {
      let chosen: string | undefined;
      for (const tenantId of this.waiting.keys()) {
        if (chosen === undefined || this.postedOf(tenantId) < this.postedOf(chosen)) {
          chosen = tenantId;
        }
      }
      const queue = this.waiting.get(chosen!)!;
      const go = queue.shift()!;
      this.waiting.delete(chosen!);
      if (queue.length > 0) this.waiting.set(chosen!, queue);
      this.count(chosen!, 1);
      go();
    }
  }

  private postedOf(tenantId: string): number {
    return this.postedBy.get(tenantId) ?? 0;
  }
}
