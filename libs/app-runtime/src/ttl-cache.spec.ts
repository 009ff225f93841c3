import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.js';

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
