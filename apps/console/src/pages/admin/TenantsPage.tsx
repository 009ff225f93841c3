import { useState } from 'react';
import { api } from '../../api/client';
import type { Tenant } from '../../api/types';
import { ListTable } from '../../components/DataTable';
import { RowForm } from '../../components/forms';
import { Field, Page, Panel, StatusBadge } from '../../components/ui';
import { formatTime } from '../../lib/format';
import { Link, navigate } from '../../lib/router';
import { useAction } from '../../lib/use-action';

export function TenantsPage() {
  const [name, setName] = useState('');
  const create = useAction(async () => {
    const tenant = await api<Tenant>('/api/admin/tenants', {
      method: 'POST',
      json: { name: name.trim() },
    });
    navigate(`/admin/tenants/${tenant.id}`);
  });

  return (
    <Page title="Tenants">
      <Panel title="Create a tenant">
        <RowForm action={create} button="Create tenant">
          <Field
            label="Name"
            required
            pattern="[a-z0-9][a-z0-9\-]{0,62}"
            title="lowercase letters, digits and dashes, at most 63"
            value={name}
            onValue={setName}
            hint="Lowercase letters, digits and dashes."
          />
        </RowForm>
      </Panel>
      <Panel title="All tenants">
        <ListTable<Tenant>
          path="/api/admin/tenants"
          empty="No tenants yet."
          label="Tenants"
          rowTestId={(tenant) => `tenant-${tenant.name}`}
          columns={[
            {
              header: 'Name',
              cell: (tenant) => <Link to={`/admin/tenants/${tenant.id}`}>{tenant.name}</Link>,
            },
            { header: 'Status', cell: (tenant) => <StatusBadge status={tenant.status} /> },
            { header: 'Plan', cell: (tenant) => tenant.plan },
            { header: 'Created', cell: (tenant) => formatTime(tenant.createdAt) },
          ]}
        />
      </Panel>
    </Page>
  );
}
