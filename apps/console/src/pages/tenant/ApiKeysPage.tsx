import type { ApiKey } from '../../api/types';
import { keyColumns } from '../../components/api-keys';
import { ListTable } from '../../components/DataTable';
import { Page, Panel } from '../../components/ui';
import { useSession } from '../../lib/use-session';

/** The tenant's API keys, metadata only: an admin creates and revokes them. */
export function ApiKeysPage() {
  const { session } = useSession();
  return (
    <Page title="API keys">
      <p className="hint">
        The keys that call this tenant’s models and routes. A platform admin creates and revokes
        them; a key’s secret is shown once, to whoever created it, and never again (only its prefix
        is kept in the clear).
      </p>
      <Panel title="Keys" testId="api-keys-panel">
        <ListTable<ApiKey>
          path="/api/api-keys"
          empty="No API keys yet: ask a platform admin to create one."
          label="API keys"
          testId="api-keys-table"
          rowTestId={(key) => `key-${key.name}`}
          columns={keyColumns({
            current: session?.kind === 'apiKey' ? session.label : undefined,
          })}
        />
      </Panel>
    </Page>
  );
}
