import { useState } from 'react';
import { api } from '../../api/client';
import { useGet } from '../../api/list';
import type { AdminTrainingJob, Page as ApiPage } from '../../api/types';
import { AsyncTable } from '../../components/DataTable';
import { jobColumns, StatusFilter } from '../../components/training-jobs';
import { ErrorNotice, FilterSelect, Notice, Page, Panel } from '../../components/ui';
import { useAction } from '../../lib/use-action';
import { useTenantNames } from './tenant-names';

function progressText(progress: AdminTrainingJob['progress']): string {
  if (!progress) return '—';
  if (typeof progress.epoch === 'number') {
    return `epoch ${progress.epoch}${typeof progress.epochs === 'number' ? `/${progress.epochs}` : ''}`;
  }
  if (typeof progress.stage === 'string') return `${progress.stage} (${progress.leaves} leaves)`;
  return '…';
}

/** Training jobs across tenants (waiting = queued, active = running, failed…), every 5 s. */
export function TrainingQueuePage() {
  const [status, setStatus] = useState('');
  const [tenantId, setTenantId] = useState('');
  const { tenantOptions } = useTenantNames();
  const jobs = useGet<ApiPage<AdminTrainingJob>>(
    `/api/admin/training-jobs?limit=100${status ? `&status=${status}` : ''}${tenantId ? `&tenantId=${tenantId}` : ''}`,
    { pollMs: 5_000 },
  );
  const [ping, setPing] = useState<{ roundTripMs: number } | null>(null);
  const checkTrainer = useAction(async () => {
    setPing(null);
    setPing(await api<{ roundTripMs: number }>('/api/admin/trainer/ping', { method: 'POST' }));
  });

  return (
    <Page
      title="Training queue"
      actions={
        <button type="button" onClick={() => void checkTrainer.run()} disabled={checkTrainer.busy}>
          {checkTrainer.busy ? 'Pinging…' : 'Ping a trainer'}
        </button>
      }
    >
      {ping && (
        <Notice tone="good">
          A trainer answered through the queue in {ping.roundTripMs.toFixed(0)} ms.
        </Notice>
      )}
      <ErrorNotice error={checkTrainer.error} />
      <Panel
        title="Jobs"
        actions={
          <div className="form-row">
            <StatusFilter value={status} onValue={setStatus} />
            <FilterSelect
              label="Tenant"
              value={tenantId}
              onValue={setTenantId}
              options={tenantOptions}
            />
          </div>
        }
      >
        <p className="hint">
          Queued jobs wait for a trainer; running ones hold a trainer; failed ones say why. Tenants
          cancel their own jobs from their console.
        </p>
        <AsyncTable
          state={jobs}
          empty={`No jobs${status ? ` ${status}` : ''}.`}
          label="Training jobs"
          testId="queue-table"
          columns={[
            { header: 'Tenant', cell: (job) => job.tenantName },
            ...jobColumns<AdminTrainingJob>({
              model: (job) => job.modelName,
              middle: [
                { header: 'Progress', cell: (job) => progressText(job.progress) },
                { header: 'Attempts', cell: (job) => job.attempts },
              ],
              timeHeader: 'Time',
            }),
            { header: 'Error', className: 'small', cell: (job) => job.error ?? '' },
          ]}
        />
      </Panel>
    </Page>
  );
}
