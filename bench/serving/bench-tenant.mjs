// A tenant for a benchmark: created with an API key, its quotas left on but set high enough not
// to be what is measured.
import { adminToken, createTenantWithKey } from '@maas/testing';

/** Creates tenant `name` on `platform` with limits no benchmark reaches; resolves with its key. */
export async function benchTenant(platform, name) {
  const token = await adminToken(platform);
  const tenant = await createTenantWithKey(platform, name, { token });
  const response = await fetch(
    `${platform.gateway.url}/api/admin/tenants/${tenant.tenantId}/quotas`,
    {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requestsPerSecond: 1e6, burst: 1e6, monthlyRequests: 1e9 }),
    },
  );
  if (response.status !== 200) throw new Error(`quotas: PUT answered ${response.status}`);
  return tenant;
}
