import type { ApiKey } from '../api/types';
import { formatTime } from '../lib/format';
import type { Column } from './DataTable';
import { StatusBadge } from './ui';

/** active, expired (past its expiry) or revoked. */
export const keyState = (key: ApiKey) =>
  key.revokedAt
    ? 'revoked'
    : key.expiresAt && new Date(key.expiresAt).getTime() < Date.now()
      ? 'expired'
      : 'active';

/**
 * The columns of a list of API keys (the admins' and the tenant's): metadata only, a key's
 * secret is shown once when it is created and never again. `current`: the prefix of the key
 * this console is signed in with, marked in its row.
 */
export function keyColumns({ current }: { current?: string } = {}): Column<ApiKey>[] {
  return [
    {
      header: 'Name',
      cell: (key) => (
        <>
          {key.name}
          {key.prefix === current && <span className="muted small"> (this session)</span>}
        </>
      ),
    },
    { header: 'Prefix', cell: (key) => <code>{key.prefix}</code> },
    { header: 'Scopes', cell: (key) => key.scopes.join(', ') },
    { header: 'State', cell: (key) => <StatusBadge status={keyState(key)} /> },
    { header: 'Last used', cell: (key) => formatTime(key.lastUsedAt) },
    {
      header: 'Expires',
      cell: (key) =>
        key.revokedAt ? `revoked ${formatTime(key.revokedAt)}` : formatTime(key.expiresAt),
    },
    { header: 'Created', cell: (key) => formatTime(key.createdAt) },
  ];
}
