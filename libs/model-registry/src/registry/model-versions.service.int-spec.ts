import { describe, expect, it } from 'vitest';
import { RegistryError } from './registry.errors.js';
import { failure, gemm, uploadOnnxVersion, useRegistryOnFs } from './registry.fixtures.js';
import { pickServableVersion, type VersionSelector } from './version-resolution.service.js';

describe('model versions', () => {
  const context = useRegistryOnFs('versions');

  it('quarantines a version: resolved as before but never served, until superseded or released', async () => {
    const { registry, tenantId } = context;
    const upload = (name: string, body: Buffer) =>
      uploadOnnxVersion(registry, tenantId, name, body);
    const { versions } = registry;
    await registry.models.createModel(tenantId, { name: 'crasher' });
    const v1 = await upload('crasher', gemm());
    const v2 = await upload('crasher', gemm([1, 1, 1]));
    await registry.labels.setLabel(tenantId, 'crasher', 'production', { '1': 50, '2': 50 });
    const served = async (selector: VersionSelector) => {
      try {
        return pickServableVersion(
          await registry.resolution.resolveCandidates(tenantId, 'crasher', selector),
        ).version.number;
      } catch (error) {
        return error as RegistryError;
      }
    };
    const reason = 'its requests stopped workers 3 times within 10 minutes; ask an admin';
    const storedBefore = await registry.quota.storageUsed(tenantId);
    expect(await versions.quarantineVersion(tenantId, v1.id, reason)).toBe(true);
    expect(await versions.quarantineVersion(tenantId, v1.id, 'again')).toBe(false);
    expect(await versions.getVersion(tenantId, 'crasher', 1)).toMatchObject({
      status: 'quarantined',
      statusReason: reason,
    });
    expect(await registry.quota.storageUsed(tenantId)).toBe(storedBefore); // its bytes still count
    // The split drops it while the label has a ready target.
    for (let i = 0; i < 20; i++) expect(await served({})).toBe(2);
    const named = await served({ version: 1 });
    expect(named).toMatchObject({ code: 'UNAVAILABLE' });
    expect((named as Error).message).toBe(`version 1 of model 'crasher' is quarantined: ${reason}`);
    // Nothing ready left behind the label: its requests answer the reason, not another version.
    await versions.quarantineVersion(tenantId, v2.id, reason);
    expect(await served({})).toMatchObject({ code: 'UNAVAILABLE' });
    await registry.labels.deleteLabel(tenantId, 'crasher', 'production');
    expect(await served({})).toMatchObject({ code: 'UNAVAILABLE' }); // the newest, quarantined
    expect(
      await failure(registry.labels.setLabel(tenantId, 'crasher', 'production', { '1': 1 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
    // A new version serves by default; the quarantined ones still answer their reason.
    await upload('crasher', gemm([2, 2, 2]));
    expect(await served({})).toBe(3);
    expect(await served({ version: 2 })).toMatchObject({ code: 'UNAVAILABLE' });
    // Released by an admin: ready again; releasing a ready version changes nothing.
    const released = await versions.releaseQuarantine(tenantId, 'crasher', 2);
    expect(released).toMatchObject({ status: 'ready', statusReason: null });
    expect(await served({ version: 2 })).toBe(2);
    expect((await versions.releaseQuarantine(tenantId, 'crasher', 2)).status).toBe('ready');
    await versions.deleteVersion(tenantId, 'crasher', 3);
    expect(await failure(versions.releaseQuarantine(tenantId, 'crasher', 3))).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  }, 60_000);
});
