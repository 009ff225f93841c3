import { useState } from 'react';
import { api } from '../../api/client';
import { useGet } from '../../api/list';
import type { AdminTrainingJob, Page as ApiPage, TrainingJob } from '../../api/types';
import { AsyncTable } from '../../components/DataTable';
import { jobColumns, StatusFilter } from '../../components/training-jobs';
import { ConfirmButton, ErrorNotice, FilterSelect, Notice, Page, Panel } from '../../components/ui';
import { useAction } from '../../lib/use-action';
import { useTenantNames } from './tenant-names';

/**
 * What the admin may do to a job: cancel a queued or running one, retry (as a new job) one that
 * failed or was cancelled; nothing to one that succeeded.
 */
function actionFor(job: AdminTrainingJob) {
  if (job.status === 'queued' || job.status === 'running') {
    return {
      name: 'cancel' as const,
      label: 'Cancel',
      className: 'button-small button-danger',
      message: `${
        job.status === 'running'
          ? 'Its trainer stops it at its next check; no version is registered.'
          : 'It leaves the queue without running.'
      } The tenant sees it cancelled.`,
    };
  }
  if (job.status === 'failed' || job.status === 'cancelled') {
    return {
      name: 'retry' as const,
      label: 'Retry',
      className: 'button-small',
      message: `A new job with the same dataset, algorithm and hyperparameters is queued, counted against the tenant’s training quota; this one stays ${job.status}.`,
    };
  }
  return null;
}

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
  const [retried, setRetried] = useState<{ job: TrainingJob; tenantName: string } | null>(null);
  const act = async (job: AdminTrainingJob, action: 'cancel' | 'retry') => {
    setRetried(null);
    const answer = await api<TrainingJob>(`/api/admin/training-jobs/${job.id}/${action}`, {
      method: 'POST',
    });
    if (action === 'retry') setRetried({ job: answer, tenantName: job.tenantName });
    jobs.reload();
  };
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
      {retried && (
        <Notice tone="good">
          <span data-testid="retried-job">
            {retried.tenantName}’s <strong>{retried.job.modelName}</strong> runs again as a new job,{' '}
            <code>{retried.job.id}</code>, now {retried.job.status}.
          </span>
        </Notice>
      )}
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
          Queued jobs wait for a trainer; running ones hold a trainer; failed ones say why. Cancel
          stops a queued or running job; Retry runs a failed or cancelled one again as a new job,
          counted against its tenant’s training quota.
        </p>
        <AsyncTable
          state={jobs}
          empty={`No jobs${status ? ` ${status}` : ''}.`}
          label="Training jobs"
          testId="queue-table"
          rowTestId={(job) => `job-${job.id}`}
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
          actions={(job) => {
            const action = actionFor(job);
            return (
              action && (
                <ConfirmButton
                  key={action.name}
                  className={action.className}
                  title={`${action.label} ${job.tenantName}’s job ${job.modelName}?`}
                  message={<p>{action.message}</p>}
                  confirmLabel={`${action.label} job`}
                  onConfirm={() => act(job, action.name)}
                >
                  {action.label}
                </ConfirmButton>
              )
            );
          }}
        />
      </Panel>
    </Page>
  );
}
