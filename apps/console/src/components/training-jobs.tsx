import type { ReactNode } from 'react';
import { TRAINING_STATUSES } from '../api/types';
import { formatDuration, formatTime } from '../lib/format';
import type { Column } from './DataTable';
import { FilterSelect, StatusBadge } from './ui';

/** What both lists of training jobs (a tenant's, the admins' queue) show of a job. */
interface JobRow {
  algorithm: string;
  status: string;
  trainingSeconds: number;
  createdAt: string;
}

/** The columns of a list of training jobs, with the list's own ones (`middle`) inside. */
export function jobColumns<J extends JobRow>({
  model,
  middle,
  timeHeader,
}: {
  model: (job: J) => ReactNode;
  middle: Column<J>[];
  timeHeader: string;
}): Column<J>[] {
  return [
    { header: 'Model', cell: model },
    { header: 'Algorithm', cell: (job) => job.algorithm },
    { header: 'Status', cell: (job) => <StatusBadge status={job.status} /> },
    ...middle,
    { header: timeHeader, cell: (job) => formatDuration(job.trainingSeconds) },
    { header: 'Created', cell: (job) => formatTime(job.createdAt) },
  ];
}

/** Narrows a list of training jobs to one status. */
export function StatusFilter({
  value,
  onValue,
}: {
  value: string;
  onValue: (value: string) => void;
}) {
  return (
    <FilterSelect
      label="Status"
      value={value}
      onValue={onValue}
      options={[{ value: '', label: 'any' }, ...TRAINING_STATUSES]}
    />
  );
}
