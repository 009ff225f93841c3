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
}

/**
 * A small time-bounded cache for hot-path lookups (LRU past `maxEntries`). Concurrent misses
 * for one key share a single load (64 requests arriving as an entry expires cost one query,
 * not 64); failed loads are not kept.
 */
export class TtlCache<V> {
  private readonly entries: LruCache<Entry<V>>;

  constructor(
    private readonly ttlMs: number,
    maxEntries = 10_000,
  ) {
    this.entries = new LruCache(maxEntries);
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value.value;
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
