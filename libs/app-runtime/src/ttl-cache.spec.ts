import { describe, expect, it } from 'vitest';
import { LruCache, TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('shares one load between concurrent misses and reuses it within the TTL', async () => {
    const cache = new TtlCache<number>(1000);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return 42;
    };
    const values = await Promise.all(Array.from({ length: 64 }, () => cache.get('k', load)));
    expect(values).toEqual(Array(64).fill(42));
    expect(await cache.get('k', load)).toBe(42);
    expect(loads).toBe(1);
  });

  it('loads again after the TTL and after a failure', async () => {
    const cache = new TtlCache<number>(20);
    let loads = 0;
    await cache.get('k', async () => ++loads);
    await new Promise((r) => setTimeout(r, 30));
    expect(await cache.get('k', async () => ++loads)).toBe(2);
    await expect(cache.get('x', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('x', async () => 7)).toBe(7);
  });

  it('serves a stale value while one refresh runs, keeps it through failures, drops it when told', async () => {
    const cache = new TtlCache<number>(20, {
      staleMs: 60_000,
      isDefinitive: (error) => (error as Error).message === 'gone',
    });
    let loads = 0;
    expect(await cache.get('k', async () => ++loads)).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    // Past the TTL: the stale value at once, one background load for all callers.
    let release!: (value: number) => void;
    const slow = () => {
      loads++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    expect(await Promise.all([cache.get('k', slow), cache.get('k', slow)])).toEqual([1, 1]);
    expect(loads).toBe(2);
    release(5);
    await new Promise((r) => setImmediate(r));
    expect(await cache.get('k', slow)).toBe(5);

    // A failed refresh keeps the last value; a definitive one drops it.
    await new Promise((r) => setTimeout(r, 30));
    expect(await cache.get('k', () => Promise.reject(new Error('database down')))).toBe(5);
    await new Promise((r) => setImmediate(r));
    expect(await cache.get('k', () => Promise.reject(new Error('gone')))).toBe(5);
    await new Promise((r) => setImmediate(r));
    await expect(cache.get('k', () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
  });

  it('with staleIf error, waits for the reload past the TTL and answers stale only if it fails', async () => {
    const cache = new TtlCache<number>(20, {
      staleMs: 60_000,
      staleIf: 'error',
      isDefinitive: (error) => (error as Error).message === 'gone',
    });
    expect(await cache.get('k', async () => 1)).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    // Past the TTL: the new value (a change is seen at once), one reload for all callers.
    let loads = 0;
    const reload = async () => (++loads, 2);
    expect(await Promise.all([cache.get('k', reload), cache.get('k', reload)])).toEqual([2, 2]);
    expect(loads).toBe(1);
    // The source down: the last value answers; a definitive failure drops it and is thrown.
    await new Promise((r) => setTimeout(r, 30));
    expect(await cache.get('k', () => Promise.reject(new Error('database down')))).toBe(2);
    await expect(cache.get('k', () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    expect(await cache.get('k', async () => 3)).toBe(3);
  });

  it('drops entries by key or by loaded value', async () => {
    const cache = new TtlCache<{ tenant: string }>(10_000);
    await cache.get('a', async () => ({ tenant: 't1' }));
    await cache.get('b', async () => ({ tenant: 't2' }));
    cache.deleteWhere((_key, value) => value?.tenant === 't1');
    let loads = 0;
    await cache.get('a', async () => ({ tenant: `reloaded-${++loads}` }));
    await cache.get('b', async () => ({ tenant: `reloaded-${++loads}` }));
    expect(loads).toBe(1);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry, one at a time, never the whole map', () => {
    const cache = new LruCache<number>(3);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')?.value).toBe(1); // a is now the most recently used
    cache.set('d', 4);
    expect(cache.has('b')).toBe(false);
    expect(['a', 'c', 'd'].map((k) => cache.peek(k)?.value)).toEqual([1, 3, 4]);
    expect(cache.size).toBe(3);
  });

  it('keeps an entry in use through a flood of new keys', () => {
    const cache = new LruCache<string>(100);
    cache.set('valid', 'record');
    for (let i = 0; i < 10_000; i++) {
      cache.set(`random-${i}`, 'x');
      if (i % 50 === 0) expect(cache.get('valid')?.value).toBe('record');
    }
    expect(cache.size).toBe(100);
    expect(cache.peek('valid')?.value).toBe('record');
  });

  it('peek does not refresh recency; set replaces and records when', () => {
    const cache = new LruCache<number>(2);
    cache.set('a', 1, 100);
    cache.set('b', 2, 200);
    expect(cache.peek('a')).toEqual({ value: 1, at: 100 });
    cache.set('c', 3);
    expect(cache.has('a')).toBe(false);
    cache.set('b', 20, 300);
    expect(cache.get('b')).toEqual({ value: 20, at: 300 });
    expect(cache.size).toBe(2);
  });

  it('drops entries by predicate and refuses a capacity below one', () => {
    const cache = new LruCache<number>(10);
    for (let i = 0; i < 6; i++) cache.set(String(i), i);
    cache.deleteWhere((_key, value) => value % 2 === 0);
    expect(cache.size).toBe(3);
    expect(cache.has('1') && cache.has('3') && cache.has('5')).toBe(true);
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});

describe('TtlCache bounds', () => {
  it('evicts the least recently used key past its capacity instead of clearing', async () => {
    const cache = new TtlCache<string>(60_000, 10);
    await cache.get('hot', async () => 'hot');
    for (let i = 0; i < 100; i++) {
      await cache.get(`k${i}`, async () => 'cold');
      await cache.get('hot', async () => 'reloaded');
    }
    expect(await cache.get('hot', async () => 'reloaded')).toBe('hot');
    let reloaded = false;
    await cache.get('k0', async () => {
      reloaded = true;
      return 'cold';
    });
    expect(reloaded).toBe(true);
  });
});

describe('LruCache expiry', () => {
  it('expires entries in place, keeping their value and recency', () => {
    const cache = new LruCache<string>(2);
    cache.set('a', 'x', 500);
    cache.set('b', 'y', 500);
    cache.expire('a');
    cache.expireWhere((_key, value) => value === 'y');
    expect(cache.peek('a')).toEqual({ value: 'x', at: 0 });
    expect(cache.peek('b')).toEqual({ value: 'y', at: 0 });
    cache.set('c', 'z');
    expect(cache.has('a')).toBe(false); // still the least recently used
    expect(cache.has('b')).toBe(true);
  });
});
