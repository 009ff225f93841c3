import { useState } from 'react';
import { api } from '../../api/client';
import type { AuditEntry, Page as ApiPage } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import {
  AsyncView,
  ErrorNotice,
  Field,
  ListOrEmpty,
  Page,
  Panel,
  SelectField,
} from '../../components/ui';
import { formatTime } from '../../lib/format';
import { useAsync } from '../../lib/use-async';
import { submitWith, useAction } from '../../lib/use-action';
import { useTenantNames } from './tenant-names';

/** The text filters, by name, with their labels. */
const FILTERS = [
  { name: 'action', label: 'Action', placeholder: 'api-keys.create' },
  { name: 'actorId', label: 'Actor id' },
  { name: 'targetType', label: 'Target type' },
  { name: 'targetId', label: 'Target id' },
  { name: 'from', label: 'From', type: 'datetime-local' },
  { name: 'to', label: 'To', type: 'datetime-local' },
];

/** An id, shortened, after what it names (the whole id on hover). */
function ShortId({ id }: { id: string | null }) {
  return id ? (
    <span className="muted small" title={id}>
      {' '}
      {id.slice(0, 8)}…
    </span>
  ) : null;
}

/** The audit log, newest first, filtered by tenant, actor, action, target and time. */
export function AuditPage() {
  const { tenantOptions, nameOf } = useTenantNames();
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [more, setMore] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);

  const query = (extra: Record<string, string> = {}) => {
    const params = new URLSearchParams({ limit: '50' });
    for (const [name, value] of Object.entries({ ...filters, ...extra })) {
      if (!value) continue;
      params.set(name, name === 'from' || name === 'to' ? new Date(value).toISOString() : value);
    }
    return `/api/admin/audit-log?${params.toString()}`;
  };
  const first = useAsync(
    async (signal) => {
      const page = await api<ApiPage<AuditEntry>>(query(), { signal });
      setMore([]);
      setCursor(page.nextCursor);
      return page;
    },
    [JSON.stringify(filters)],
  );
  const loadMore = useAction(async () => {
    if (!cursor) return;
    const page = await api<ApiPage<AuditEntry>>(query({ cursor }));
    setMore((previous) => [...previous, ...page.items]);
    setCursor(page.nextCursor);
  });
  const set = (name: string) => (value: string) =>
    setDraft((previous) => ({ ...previous, [name]: value }));

  return (
    <Page title="Audit log">
      <Panel title="Filters">
        <form
          className="form-grid"
          onSubmit={submitWith(() => setFilters({ ...draft }))}
          data-testid="audit-filters"
        >
          <SelectField
            label="Tenant"
            value={draft.tenantId ?? ''}
            onValue={set('tenantId')}
            options={tenantOptions}
          />
          {FILTERS.map(({ name, ...field }) => (
            <Field
              key={name}
              {...field}
              value={draft[name] ?? ''}
              onChange={(event) => set(name)(event.target.value)}
            />
          ))}
          <div className="form-buttons">
            <button type="submit" className="button-primary">
              Apply filters
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft({});
                setFilters({});
              }}
            >
              Clear
            </button>
          </div>
        </form>
      </Panel>
      <Panel title="Entries">
        <AsyncView state={first} rows={6}>
          {(page) => (
            <ListOrEmpty items={[...page.items, ...more]} empty="No entries match.">
              {(entries) => (
                <>
                  <DataTable
                    label="Audit entries"
                    testId="audit-table"
                    rows={entries}
                    columns={[
                      { header: 'When', cell: (entry) => formatTime(entry.at) },
                      { header: 'Action', cell: (entry) => <code>{entry.action}</code> },
                      {
                        header: 'Actor',
                        cell: (entry) => (
                          <>
                            {entry.actorType}
                            <ShortId id={entry.actorId} />
                          </>
                        ),
                      },
                      { header: 'Tenant', cell: (entry) => nameOf(entry.tenantId) },
                      {
                        header: 'Target',
                        cell: (entry) => (
                          <>
                            {entry.targetType ?? '—'}
                            <ShortId id={entry.targetId} />
                          </>
                        ),
                      },
                      { header: 'IP', cell: (entry) => entry.ip ?? '—' },
                      {
                        header: 'Request id',
                        className: 'small',
                        cell: (entry) => entry.requestId ?? '—',
                      },
                    ]}
                  />
                  <ErrorNotice error={loadMore.error} />
                  {cursor && (
                    <button type="button" onClick={() => void loadMore.run()}>
                      Load older entries
                    </button>
                  )}
                </>
              )}
            </ListOrEmpty>
          )}
        </AsyncView>
      </Panel>
    </Page>
  );
}
