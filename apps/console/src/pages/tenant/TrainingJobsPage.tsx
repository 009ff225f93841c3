import { useState } from 'react';
import { useGet } from '../../api/list';
import type { Page as ApiPage, TrainingJob } from '../../api/types';
import { AsyncTable } from '../../components/DataTable';
import { jobColumns, StatusFilter } from '../../components/training-jobs';
import { Page, Panel } from '../../components/ui';
import { Link } from '../../lib/router';

export function TrainingJobsPage() {
  const [status, setStatus] = useState('');
  const jobs = useGet<ApiPage<TrainingJob>>(
    `/api/training-jobs?limit=100${status ? `&status=${status}` : ''}`,
    { pollMs: 5_000 },
  );
  return (
    <Page
      title="Training"
      actions={
        <Link to="/training/new" className="button-primary button-link">
          New training job
        </Link>
      }
    >
      <Panel title="Jobs" actions={<StatusFilter value={status} onValue={setStatus} />}>
        <AsyncTable
          state={jobs}
          empty={`No training jobs${status ? ` ${status}` : ''}. Upload a dataset, then start a job.`}
          label="Training jobs"
          columns={jobColumns<TrainingJob>({
            model: (job) => <Link to={`/training/${job.id}`}>{job.modelName}</Link>,
            middle: [{ header: 'Target', cell: (job) => job.target }],
            timeHeader: 'Training time',
          })}
        />
      </Panel>
    </Page>
  );
}
