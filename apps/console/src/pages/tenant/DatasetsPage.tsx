import { useState } from 'react';
import { useList } from '../../api/list';
import type { Dataset, DatasetColumn } from '../../api/types';
import { AsyncTable, DataTable } from '../../components/DataTable';
import { UploadControls, useUpload } from '../../components/Upload';
import { DeleteButton, Field, Page, Panel } from '../../components/ui';
import { formatBytes, formatNumber, formatTime, shortHash } from '../../lib/format';
import { Link } from '../../lib/router';

const PROFILE_ORDER = ['type', 'missing', 'distinct', 'min', 'max', 'integer', 'label', 'values'];

/** Every column's profile the gateway recorded (type, missing values, distinct values…). */
function ColumnProfile({ dataset }: { dataset: Dataset }) {
  const present = new Set(dataset.columns.flatMap((c) => Object.keys(c)));
  present.delete('name');
  // The usual profile first, in reading order; anything newer the gateway adds after it.
  const keys = [
    ...PROFILE_ORDER.filter((key) => present.has(key)),
    ...[...present].filter((key) => !PROFILE_ORDER.includes(key)).sort(),
  ];
  return (
    <DataTable
      label={`Columns of ${dataset.name}`}
      testId="column-profile"
      rows={dataset.columns}
      rowKey={(column) => column.name}
      columns={[
        { header: 'Column', rowHeader: true, cell: (column) => column.name },
        ...keys.map((key) => ({
          header: key,
          cell: (column: DatasetColumn) => {
            const value = column[key];
            return value === undefined
              ? '—'
              : typeof value === 'object'
                ? JSON.stringify(value)
                : formatNumber(value);
          },
        })),
      ]}
    />
  );
}

export function DatasetsPage() {
  const datasets = useList<Dataset>('/api/datasets');
  const [open, setOpen] = useState<string | null>(null);
  const [name, setName] = useState('');
  const upload = useUpload<Dataset>({
    path: (file) =>
      `/api/datasets?name=${encodeURIComponent(name.trim() || file.name.replace(/\.csv$/i, ''))}`,
    contentType: 'text/csv',
    onDone: (dataset) => {
      setOpen(dataset.id);
      setName('');
      datasets.reload();
    },
  });

  return (
    <Page title="Datasets">
      <Panel title="Your datasets">
        <AsyncTable
          state={datasets}
          empty="No datasets yet: upload a CSV file below."
          label="Datasets"
          rowTestId={(dataset) => `dataset-${dataset.name}`}
          columns={[
            { header: 'Name', cell: (dataset) => dataset.name },
            { header: 'Rows', cell: (dataset) => dataset.rows.toLocaleString() },
            { header: 'Columns', cell: (dataset) => dataset.columns.length },
            { header: 'Size', cell: (dataset) => formatBytes(dataset.sizeBytes) },
            {
              header: 'sha256',
              cell: (dataset) => <code title={dataset.sha256}>{shortHash(dataset.sha256)}</code>,
            },
            { header: 'Uploaded', cell: (dataset) => formatTime(dataset.createdAt) },
          ]}
          actions={(dataset) => (
            <>
              <button
                type="button"
                className="button-small"
                aria-expanded={open === dataset.id}
                onClick={() => setOpen(open === dataset.id ? null : dataset.id)}
              >
                Columns
              </button>
              <Link className="button-small button-link" to={`/training/new?dataset=${dataset.id}`}>
                Train
              </Link>
              <DeleteButton
                className="button-small button-danger"
                title={`Delete the dataset ${dataset.name}?`}
                message={<p>Its stored rows are removed. Trained models stay.</p>}
                confirmLabel="Delete dataset"
                path={`/api/datasets/${dataset.id}`}
                onDeleted={datasets.reload}
              >
                Delete
              </DeleteButton>
            </>
          )}
        />
      </Panel>
      {datasets.value
        ?.filter((d) => d.id === open)
        .map((dataset) => (
          <Panel key={dataset.id} title={`Column profile of ${dataset.name}`}>
            <ColumnProfile dataset={dataset} />
          </Panel>
        ))}
      <Panel title="Upload a CSV dataset" testId="dataset-upload">
        <div className="form-stack">
          <Field
            label="Name"
            value={name}
            maxLength={200}
            onValue={setName}
            hint="Defaults to the file name."
          />
          <UploadControls
            upload={upload}
            label="Choose a CSV file"
            accept=".csv,text/csv"
            testId="dataset-drop"
            button="Upload dataset"
            describe={(dataset) => (
              <>
                {dataset.name}: {dataset.rows.toLocaleString()} rows, {dataset.columns.length}{' '}
                columns.
              </>
            )}
          />
        </div>
      </Panel>
    </Page>
  );
}
