interface Entry<V> {
  value: Promise<V>;
  resolved?: V;
  at: number;
}

/**
 * A small time-bounded cache for hot-path lookups. Concurrent misses for one key share a
 * single load (64 requests arriving as an entry expires cost one query, not 64); failed
 * loads are not kept.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = load();
    const entry: Entry<V> = { value, at: now };
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, entry);
    value.then(
      (resolved) => {
        entry.resolved = resolved;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries whose key or loaded value matches (pending loads are dropped too). */
  deleteWhere(matches: (key: string, value: V | undefined) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (entry.resolved === undefined || matches(key, entry.resolved)) this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
