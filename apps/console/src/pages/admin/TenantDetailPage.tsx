import { useState } from 'react';
import { api } from '../../api/client';
import { useGet } from '../../api/list';
import {
  API_KEY_SCOPES,
  type ApiKey,
  type Page as ApiPage,
  PLANS,
  type Quotas,
  type Tenant,
  type TenantUser,
} from '../../api/types';
import { keyColumns } from '../../components/api-keys';
import { AsyncTable, DataTable } from '../../components/DataTable';
import { AddForm } from '../../components/forms';
import { QUOTA_LIMITS } from '../../components/quotas';
import { UsageCharts } from '../../components/UsageCharts';
import {
  AsyncView,
  CheckboxGroup,
  ConfirmButton,
  CopyButton,
  DeleteButton,
  DeletePanel,
  ErrorNotice,
  Facts,
  Field,
  Notice,
  Page,
  Panel,
  SelectField,
  StatusBadge,
} from '../../components/ui';
import { formatLimit, formatTime } from '../../lib/format';
import { navigate } from '../../lib/router';
import { useAsync } from '../../lib/use-async';
import { submitWith, useAction } from '../../lib/use-action';

function KeysPanel({ tenantId }: { tenantId: string }) {
  const path = `/api/admin/tenants/${tenantId}/api-keys`;
  const keys = useGet<ApiPage<ApiKey>>(path);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([...API_KEY_SCOPES]);
  const [expires, setExpires] = useState('');
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const create = useAction(async () => {
    setSecret(null);
    const created = await api<ApiKey & { key: string }>(path, {
      method: 'POST',
      json: {
        name: name.trim(),
        ...(scopes.length < API_KEY_SCOPES.length && { scopes }),
        ...(expires && { expiresAt: new Date(expires).toISOString() }),
      },
    });
    setSecret({ name: created.name, key: created.key });
    setName('');
    keys.reload();
  });

  return (
    <Panel title="API keys" testId="keys-panel">
      {secret && (
        <div className="notice notice-good secret" role="status" data-testid="new-key">
          <p>
            The key <strong>{secret.name}</strong> — copy it now: it is shown only this once.
          </p>
          <p className="secret-row">
            <code data-testid="new-key-secret">{secret.key}</code>
            <CopyButton text={secret.key} />
          </p>
          <button type="button" className="button-small" onClick={() => setSecret(null)}>
            I have stored it
          </button>
        </div>
      )}
      <AsyncTable
        state={keys}
        empty="No keys: create one below."
        label="API keys"
        rowTestId={(key) => `key-${key.name}`}
        columns={keyColumns()}
        actions={(key) =>
          !key.revokedAt && (
            <DeleteButton
              className="button-small button-danger"
              title={`Revoke the key ${key.name}?`}
              message={
                <p>
                  Every gateway stops accepting <code>{key.prefix}…</code> at once. Clients using it
                  get 401.
                </p>
              }
              confirmLabel="Revoke key"
              path={`${path}/${key.id}`}
              onDeleted={keys.reload}
            >
              Revoke
            </DeleteButton>
          )
        }
      />
      <AddForm
        title="Create a key"
        action={create}
        button="Create key"
        disabled={scopes.length === 0}
        more={
          <CheckboxGroup
            legend="Scopes"
            options={API_KEY_SCOPES}
            isChecked={(scope) => scopes.includes(scope)}
            onToggle={(scope, checked) =>
              setScopes((previous) =>
                checked ? [...previous, scope] : previous.filter((s) => s !== scope),
              )
            }
          />
        }
      >
        <Field label="Key name" required maxLength={100} value={name} onValue={setName} />
        <Field
          label="Expires (optional)"
          type="datetime-local"
          value={expires}
          onValue={setExpires}
        />
      </AddForm>
    </Panel>
  );
}

function UsersPanel({ tenantId }: { tenantId: string }) {
  const path = `/api/admin/tenants/${tenantId}/users`;
  const users = useGet<ApiPage<TenantUser>>(path);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('developer');
  const create = useAction(async () => {
    await api(path, { method: 'POST', json: { email: email.trim(), password, role } });
    setEmail('');
    setPassword('');
    users.reload();
  });

  return (
    <Panel title="Users and roles" testId="users-panel">
      <p className="hint">
        Members sign in with their email and password. viewer: read models and usage; developer and
        owner: everything (infer, upload, train).
      </p>
      <AsyncTable
        state={users}
        empty="No members: the tenant uses API keys only."
        label="Users"
        columns={[
          { header: 'Email', cell: (user) => user.email },
          { header: 'Role', cell: (user) => user.role },
          { header: 'Last login', cell: (user) => formatTime(user.lastLoginAt) },
          { header: 'Created', cell: (user) => formatTime(user.createdAt) },
        ]}
        actions={(user) => (
          <DeleteButton
            className="button-small button-danger"
            title={`Remove ${user.email}?`}
            message={<p>They can no longer sign in to this tenant.</p>}
            confirmLabel="Remove user"
            path={`${path}/${user.id}`}
            onDeleted={users.reload}
          >
            Remove
          </DeleteButton>
        )}
      />
      <AddForm title="Add a member" action={create} button="Add member">
        <Field
          label="Email"
          type="email"
          required
          autoComplete="off"
          value={email}
          onValue={setEmail}
        />
        <Field
          label="Password"
          type="password"
          required
          minLength={12}
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          hint="At least 12 characters."
        />
        <SelectField
          label="Role"
          value={role}
          onValue={setRole}
          options={['owner', 'developer', 'viewer']}
        />
      </AddForm>
    </Panel>
  );
}

function QuotasPanel({
  tenantId,
  onLoaded,
}: {
  tenantId: string;
  onLoaded: (quotas: Quotas) => void;
}) {
  const path = `/api/admin/tenants/${tenantId}/quotas`;
  const quotas = useAsync(
    async (signal) => {
      const value = await api<Quotas>(path, { signal });
      onLoaded(value);
      return value;
    },
    [path],
  );
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    const body: Record<string, number | null> = {};
    for (const [name, text] of Object.entries(edits)) {
      const trimmed = text.trim();
      body[name] = trimmed === '' ? null : Number(trimmed);
    }
    const value = await api<Quotas>(path, { method: 'PUT', json: body });
    onLoaded(value);
    setEdits({});
    setSaved(true);
    quotas.reload();
  });

  return (
    <Panel title="Quotas" testId="quotas-panel">
      <AsyncView state={quotas}>
        {(value) => (
          <form className="form-stack" onSubmit={submitWith(save.run)}>
            <p className="hint">
              Plan <strong>{value.plan}</strong>. An empty override means the plan’s default.
            </p>
            <DataTable
              label="Quotas"
              rows={QUOTA_LIMITS}
              rowKey={(limit) => limit.name}
              columns={[
                {
                  header: 'Limit',
                  rowHeader: true,
                  cell: (limit) => (
                    <label htmlFor={`quota-${limit.name}`}>
                      {limit.label}
                      {limit.bytes && ' (bytes)'}
                    </label>
                  ),
                },
                {
                  header: 'In effect',
                  cell: (limit) => formatLimit(value.effective[limit.name], limit.bytes),
                },
                {
                  header: 'Override',
                  cell: (limit) => (
                    <input
                      id={`quota-${limit.name}`}
                      inputMode="numeric"
                      className="input-narrow"
                      value={
                        edits[limit.name] ??
                        (value.overrides[limit.name] === null
                          ? ''
                          : String(value.overrides[limit.name] ?? ''))
                      }
                      placeholder="plan default"
                      onChange={(event) =>
                        setEdits((previous) => ({ ...previous, [limit.name]: event.target.value }))
                      }
                    />
                  ),
                },
              ]}
            />
            <ErrorNotice error={save.error} />
            {saved && <Notice tone="good">Quotas saved; they apply within a second.</Notice>}
            <div>
              <button
                type="submit"
                className="button-primary"
                disabled={Object.keys(edits).length === 0}
              >
                Save quotas
              </button>
            </div>
          </form>
        )}
      </AsyncView>
    </Panel>
  );
}

/**
 * A version blamed for crashing workers is quarantined (503 to its callers) until a new version
 * or this release; the gateway lists none, so the admin names it (from the 503 or the logs).
 */
function QuarantinePanel({ tenantId }: { tenantId: string }) {
  const [model, setModel] = useState('');
  const [version, setVersion] = useState('');
  const [released, setReleased] = useState<string | null>(null);
  const release = useAction(async () => {
    setReleased(null);
    await api(
      `/api/admin/tenants/${tenantId}/models/${encodeURIComponent(model.trim())}/versions/${encodeURIComponent(version.trim())}/unquarantine`,
      { method: 'POST' },
    );
    setReleased(`${model.trim()} v${version.trim()}`);
  });
  return (
    <Panel title="Quarantined versions">
      <form className="form-row" onSubmit={submitWith(release.run)}>
        <Field label="Model" required value={model} onValue={setModel} />
        <Field
          label="Version"
          required
          inputMode="numeric"
          pattern="[0-9]+"
          value={version}
          onValue={setVersion}
        />
        <button type="submit">Serve it again</button>
      </form>
      <p className="hint">
        Its worker-loss count starts from zero; it is quarantined again if it keeps crashing
        workers.
      </p>
      {released && <Notice tone="good">{released} is served again.</Notice>}
      <ErrorNotice error={release.error} />
    </Panel>
  );
}

export function TenantDetailPage({ id }: { id: string }) {
  const path = `/api/admin/tenants/${id}`;
  const tenant = useGet<Tenant>(path);
  const [quotas, setQuotas] = useState<Quotas | null>(null);
  const update = useAction(async (body: Record<string, string>) => {
    await api(path, { method: 'PATCH', json: body });
    tenant.reload();
  });

  return (
    <Page parent={{ to: '/admin/tenants', label: 'Tenants' }} title={tenant.value?.name ?? '…'}>
      <AsyncView state={tenant} rows={4}>
        {(value) => (
          <>
            <Panel title="Tenant">
              <Facts
                items={[
                  ['Id', <code key="id">{value.id}</code>],
                  ['Status', <StatusBadge key="s" status={value.status} testId="tenant-status" />],
                  ['Plan', value.plan],
                  ['Created', formatTime(value.createdAt)],
                ]}
              />
              <div className="form-row">
                <SelectField
                  label="Plan"
                  value={value.plan}
                  onValue={(plan) => void update.run({ plan })}
                  options={PLANS}
                />
                {value.status === 'active' ? (
                  <ConfirmButton
                    title={`Suspend ${value.name}?`}
                    message={
                      <p>
                        Its keys and members are refused at once (403) until it is reactivated.
                        Nothing is deleted.
                      </p>
                    }
                    confirmLabel="Suspend tenant"
                    onConfirm={() => update.run({ status: 'suspended' })}
                  >
                    Suspend
                  </ConfirmButton>
                ) : (
                  <button type="button" onClick={() => void update.run({ status: 'active' })}>
                    Reactivate
                  </button>
                )}
              </div>
              <ErrorNotice error={update.error} />
            </Panel>
            <KeysPanel tenantId={id} />
            <UsersPanel tenantId={id} />
            <QuotasPanel tenantId={id} onLoaded={setQuotas} />
            <QuarantinePanel tenantId={id} />
            <UsageCharts
              path="/api/admin/usage"
              extraQuery={`&tenantId=${id}`}
              groupBy="model"
              groupLabel="model"
              quota={quotas?.effective.monthlyRequests}
            />
            <DeletePanel
              what="tenant"
              hint="Removes the tenant, its keys, members, models, datasets and stored bytes."
              title={`Delete ${value.name} and everything it owns?`}
              message={<p>This cannot be undone.</p>}
              path={path}
              onDeleted={() => navigate('/admin/tenants')}
            />
          </>
        )}
      </AsyncView>
    </Page>
  );
}
