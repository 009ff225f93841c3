/**
 * A map bounded by entry count that forgets its least recently used entry first: filling it
 * with new keys pushes out only the entries nobody asked for lately, never the whole map.
 * Each entry remembers when it was set, so callers can also bound its age.
 */
export class LruCache<V> {
  // A Map iterates in insertion order; re-inserting on use keeps the oldest-used first.
  private readonly entries = new Map<string, { value: V; at: number }>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry and when it was set, marked as just used. */
  get(key: string): { value: V; at: number } | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** The entry without marking it used. */
  peek(key: string): { value: V; at: number } | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Sets (and marks used) an entry; the least recently used one goes when over capacity. */
  set(key: string, value: V, at = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at });
    if (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  deleteWhere(matches: (key: string, value: V) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (matches(key, entry.value)) this.entries.delete(key);
    }
  }

  /** The entry keeps its place but counts as set at time 0: too old for any TTL. */
  expire(key: string): void {
    const entry = this.entries.get(key);
    if (entry) entry.at = 0;
  }

  /** Matching entries keep their place but count as set at time 0. */
  expireWhere(matches: (key: string, value: V) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (matches(key, entry.value)) entry.at = 0;
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

interface Entry<V> {
  value: Promise<V>;
  resolved?: V;
  refreshing?: boolean;
  /** staleIf 'error': the reload past the TTL that callers share. */
  reloading?: Promise<V>;
}

export interface TtlCacheOptions {
  maxEntries?: number;
  /**
   * Stale-while-revalidate: past the TTL, a loaded value is still answered for up to this long
   * while one background load refreshes it (a failed refresh keeps it), so hot keys never wait
   * on the source and ride through its outages. 0 (default): an expired entry is loaded anew.
   */
  staleMs?: number;
  /** A refresh that fails with an error this says is definitive drops the entry. */
  isDefinitive?: (error: unknown) => boolean;
  /**
   * When the stale value may answer: 'revalidate' (default, above) answers it at once and
   * refreshes behind; 'error' waits for the reload past the TTL and answers the stale value
   * only if the reload fails (not definitively) — a change is seen within the TTL, and an
   * outage of the source is ridden through for `staleMs`.
   */
  staleIf?: 'revalidate' | 'error';
}

/**
 * A small time-bounded cache for hot-path lookups (LRU past `maxEntries`). Concurrent misses
 * for one key share a single load (64 requests arriving as an entry expires cost one query,
 * not 64); failed loads are not kept.
 */
export class TtlCache<V> {
  private readonly entries: LruCache<Entry<V>>;
  private readonly options: TtlCacheOptions;

  constructor(
    private readonly ttlMs: number,
    options: number | TtlCacheOptions = {},
  ) {
    this.options = typeof options === 'number' ? { maxEntries: options } : options;
    this.entries = new LruCache(this.options.maxEntries ?? 10_000);
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value.value;
    const staleMs = this.options.staleMs ?? 0;
    if (hit && hit.value.resolved !== undefined && now - hit.at < this.ttlMs + staleMs) {
      if (this.options.staleIf === 'error') return this.reloadOrStale(key, hit.value, load);
      if (!hit.value.refreshing) this.refresh(key, hit.value, load);
      return hit.value.value;
    }
    const value = load();
    const entry: Entry<V> = { value };
    this.entries.set(key, entry, now);
    value.then(
      (resolved) => {
        entry.resolved = resolved;
      },
      () => {
        if (this.entries.peek(key)?.value === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  /** staleIf 'error': one shared reload; its failure answers the stale value (or rethrows). */
  private reloadOrStale(key: string, stale: Entry<V>, load: () => Promise<V>): Promise<V> {
    stale.reloading ??= load().then(
      (resolved) => {
        // Deleted (invalidated) while it loaded: answered, but not kept.
        if (this.entries.peek(key)?.value === stale) {
          this.entries.set(key, { value: Promise.resolve(resolved), resolved });
        }
        return resolved;
      },
      (error: unknown) => {
        stale.reloading = undefined;
        if (this.options.isDefinitive?.(error)) {
          if (this.entries.peek(key)?.value === stale) this.entries.delete(key);
          throw error;
        }
        return stale.resolved as V;
      },
    );
    return stale.reloading;
  }

  private refresh(key: string, stale: Entry<V>, load: () => Promise<V>): void {
    stale.refreshing = true;
    load().then(
      (resolved) => {
        // Deleted (invalidated) while it loaded: the answer may predate the change.
        if (this.entries.peek(key)?.value !== stale) return;
        this.entries.set(key, { value: Promise.resolve(resolved), resolved });
      },
      (error: unknown) => {
        stale.refreshing = false;
        if (this.options.isDefinitive?.(error) && this.entries.peek(key)?.value === stale) {
          this.entries.delete(key);
        }
      },
    );
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries whose key or loaded value matches (pending loads are dropped too). */
  deleteWhere(matches: (key: string, value: V | undefined) => boolean): void {
    this.entries.deleteWhere(
      (key, entry) => entry.resolved === undefined || matches(key, entry.resolved),
    );
  }

  clear(): void {
    this.entries.clear();
  }
}
