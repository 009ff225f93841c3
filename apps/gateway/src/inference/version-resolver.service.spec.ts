import type { Model, ModelVersion } from '@maas/db';
import type {
  VersionCandidates,
  VersionResolutionService,
  VersionSelector,
} from '@maas/model-registry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  CacheInvalidation,
  CacheInvalidationService,
} from '../auth/cache-invalidation.service.js';
import { VersionResolver } from './version-resolver.service.js';

const model = { id: 'model-1', name: 'canary' } as Model;
const version = (number: number) => ({ id: `v${number}`, number }) as ModelVersion;

/** A registry that answers an 80/20 label and counts its (Postgres) lookups. */
function fakes() {
  const calls: VersionSelector[] = [];
  let listener: (event: CacheInvalidation) => void = () => undefined;
  const registry = {
    resolveCandidates: async (_tenant: string, _name: string, selector: VersionSelector) => {
      calls.push(selector);
      return {
        model,
        targets: [
          { version: version(1), weight: 80 },
          { version: version(2), weight: 20 },
        ],
      } satisfies VersionCandidates;
    },
  } as unknown as VersionResolutionService;
  const invalidation = {
    onInvalidate: (fn: (event: CacheInvalidation) => void) => (listener = fn),
  } as unknown as CacheInvalidationService;
  return {
    resolver: new VersionResolver(registry, invalidation),
    calls,
    invalidate: () => listener,
  };
}

describe('VersionResolver', () => {
  it('draws the version per request from candidates looked up once', async () => {
    const { resolver, calls } = fakes();
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const { version: picked, model: resolvedModel } = await resolver.resolve('t', 'canary', {});
      expect(resolvedModel).toBe(model);
      counts.set(picked.number, (counts.get(picked.number) ?? 0) + 1);
    }
    // 80/20 within ±5 points (a binomial's 5 points over 2,000 draws is ~5.6 standard deviations).
    const share = (counts.get(2) ?? 0) / 2000;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.25);
    expect(calls).toHaveLength(1);
  });

  it('looks candidates up again after a change to the model', async () => {
    const { resolver, calls, invalidate } = fakes();
    await resolver.resolve('t', 'canary', { label: 'production' });
    await resolver.resolve('t', 'canary', { label: 'production' });
    expect(calls).toHaveLength(1);
    invalidate()({ kind: 'model', tenantId: 't', model: 'canary' });
    await resolver.resolve('t', 'canary', { label: 'production' });
    expect(calls).toHaveLength(2);
  });

  describe('past its second', () => {
    afterEach(() => vi.useRealTimers());

    /** A registry whose answers the test hands out one by one. */
    function controlled() {
      const pending: { resolve: (v: VersionCandidates) => void; reject: (e: unknown) => void }[] =
        [];
      const registry = {
        resolveCandidates: () =>
          new Promise<VersionCandidates>((resolve, reject) => pending.push({ resolve, reject })),
      } as unknown as VersionResolutionService;
      const invalidation = { onInvalidate: () => undefined } as unknown as CacheInvalidationService;
      const answer = (number: number) => ({
        model,
        targets: [{ version: version(number), weight: 1 }],
      });
      return { resolver: new VersionResolver(registry, invalidation), pending, answer };
    }
    const flush = () => new Promise((resolve) => setImmediate(resolve));

    it('serves the stale candidates while one lookup refreshes them, then the new ones', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { resolver, pending, answer } = controlled();
      const first = resolver.resolve('t', 'm', {});
      pending[0]!.resolve(answer(1));
      expect((await first).version.number).toBe(1);

      vi.setSystemTime(Date.now() + 1500);
      // A slow database: requests keep being answered from the stale entry, one refresh runs.
      for (let i = 0; i < 5; i++)
        expect((await resolver.resolve('t', 'm', {})).version.number).toBe(1);
      expect(pending).toHaveLength(2);
      pending[1]!.resolve(answer(2));
      await flush();
      expect((await resolver.resolve('t', 'm', {})).version.number).toBe(2);
      expect(pending).toHaveLength(2);
    });

    it('keeps serving through a transient failure, drops the entry when the model is gone', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { resolver, pending, answer } = controlled();
      const first = resolver.resolve('t', 'm', {});
      pending[0]!.resolve(answer(1));
      await first;
      vi.setSystemTime(Date.now() + 1500);
      expect((await resolver.resolve('t', 'm', {})).version.number).toBe(1);
      pending[1]!.reject(Object.assign(new Error('database unreachable'), { code: 'UNAVAILABLE' }));
      await flush();
      expect((await resolver.resolve('t', 'm', {})).version.number).toBe(1);
      pending[2]!.reject(Object.assign(new Error("model 'm' not found"), { code: 'NOT_FOUND' }));
      await flush();
      // Gone: the next request looks it up (and waits for the answer) instead of the stale one.
      const next = resolver.resolve('t', 'm', {});
      expect(pending).toHaveLength(4);
      pending[3]!.reject(Object.assign(new Error("model 'm' not found"), { code: 'NOT_FOUND' }));
      await expect(next).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('stops serving a stale entry after five minutes', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { resolver, pending, answer } = controlled();
      const first = resolver.resolve('t', 'm', {});
      pending[0]!.resolve(answer(1));
      await first;
      vi.setSystemTime(Date.now() + 5 * 60_000 + 1);
      const late = resolver.resolve('t', 'm', {});
      expect(pending).toHaveLength(2);
      pending[1]!.resolve(answer(3));
      expect((await late).version.number).toBe(3);
    });
  });
});
