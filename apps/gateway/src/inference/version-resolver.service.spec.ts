import type { Model, ModelVersion } from '@maas/db';
import type {
  ModelRegistryService,
  VersionCandidates,
  VersionSelector,
} from '@maas/model-registry';
import { describe, expect, it } from 'vitest';
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
  } as unknown as ModelRegistryService;
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
});
