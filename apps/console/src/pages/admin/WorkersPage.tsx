import { useGet } from '../../api/list';
import type { Page as ApiPage, Worker } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { AsyncList, Facts, ListOrEmpty, Page, Panel } from '../../components/ui';
import { formatTime } from '../../lib/format';
import { useTenantNames } from './tenant-names';

/** Live inference workers (their Redis heartbeats) and the versions each holds, every 5 s. */
export function WorkersPage() {
  const workers = useGet<ApiPage<Worker>>('/api/admin/workers', { pollMs: 5_000 });
  const { nameOf } = useTenantNames();
  return (
    <Page title="Inference workers">
      <AsyncList
        state={workers}
        rows={4}
        empty="No live workers: none has sent a heartbeat recently. Inference falls back to INFERENCE_WORKER_URL."
      >
        {(items) =>
          items.map((worker) => (
            <Panel key={worker.id} title={worker.id} testId="worker">
              <Facts
                items={[
                  ['URL', worker.url ?? '—'],
                  ['In flight', `${worker.inFlight ?? 0} of ${worker.capacity ?? '?'}`],
                  ['Backends', worker.backends?.join(', ') ?? '—'],
                  ['Started', formatTime(worker.startedAt)],
                  ['Last heartbeat', formatTime(worker.heartbeatAt)],
                ]}
              />
              <ListOrEmpty items={worker.loadedVersions} empty="No version loaded.">
                {(versions) => (
                  <DataTable
                    label={`Versions loaded by ${worker.id}`}
                    testId="worker-versions"
                    rows={versions}
                    rowKey={(v) => v.versionId}
                    columns={[
                      { header: 'Tenant', cell: (v) => nameOf(v.tenantId) },
                      { header: 'Model', cell: (v) => v.model },
                      { header: 'Version', cell: (v) => `v${v.version}` },
                      { header: 'Format', cell: (v) => v.format },
                    ]}
                  />
                )}
              </ListOrEmpty>
            </Panel>
          ))
        }
      </AsyncList>
    </Page>
  );
}
