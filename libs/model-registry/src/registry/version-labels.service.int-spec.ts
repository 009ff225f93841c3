import { describe, expect, it } from 'vitest';
import { failure, gemm, uploadOnnxVersion, useRegistryOnFs } from './registry.fixtures.js';

describe('version labels', () => {
  const context = useRegistryOnFs('labels');

  it('resolves labels, production by default, and splits 90/10 within ±5% over 2,000', async () => {
    const { registry, tenantId } = context;
    const { labels, resolution } = registry;
    await registry.models.createModel(tenantId, { name: 'canary' });
    for (let i = 0; i < 3; i++) {
      await uploadOnnxVersion(registry, tenantId, 'canary', gemm([i, 0, 0]));
    }
    expect((await resolution.resolveVersion(tenantId, 'canary', {})).version.number).toBe(3);
    await labels.setLabel(tenantId, 'canary', 'production', { '1': 100 });
    expect((await resolution.resolveVersion(tenantId, 'canary', {})).version.number).toBe(1);
    await labels.setLabel(tenantId, 'canary', 'staging', { '2': 1 });
    expect(
      (await resolution.resolveVersion(tenantId, 'canary', { label: 'staging' })).version.number,
    ).toBe(2);
    const view = await labels.setLabel(tenantId, 'canary', 'production', { '2': 90, '3': 10 });
    expect(view).toEqual({ name: 'production', versions: { '2': 90, '3': 10 } });
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const { version } = await resolution.resolveVersion(tenantId, 'canary', {});
      counts.set(version.number, (counts.get(version.number) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([2, 3]);
    expect(Math.abs(counts.get(2)! / 2000 - 0.9)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(counts.get(3)! / 2000 - 0.1)).toBeLessThanOrEqual(0.05);

    // Only ready versions can be targets; a labelled version cannot be deleted.
    expect(
      await failure(labels.setLabel(tenantId, 'canary', 'bad name', { '1': 1 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await failure(labels.setLabel(tenantId, 'canary', 'x', { '9': 1 }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await failure(registry.versions.deleteVersion(tenantId, 'canary', 3))).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    await labels.deleteLabel(tenantId, 'canary', 'production');
    expect((await resolution.resolveVersion(tenantId, 'canary', {})).version.number).toBe(3);
  }, 90_000);
});
