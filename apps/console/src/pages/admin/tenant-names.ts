import { useList } from '../../api/list';
import type { Tenant } from '../../api/types';

/** Tenant ids → names, for views that list ids (usage, workers, audit). */
export function useTenantNames(): {
  nameOf: (id: string | null) => string;
  tenants: Tenant[];
  /** The tenants as a select's options, after "all" (no tenant chosen). */
  tenantOptions: { value: string; label: string }[];
} {
  const tenants = useList<Tenant>('/api/admin/tenants').value ?? [];
  const byId = new Map(tenants.map((t) => [t.id, t.name]));
  return {
    nameOf: (id) => (id === null ? '—' : (byId.get(id) ?? `${id.slice(0, 8)}…`)),
    tenants,
    tenantOptions: [
      { value: '', label: 'all' },
      ...tenants.map((t) => ({ value: t.id, label: t.name })),
    ],
  };
}
