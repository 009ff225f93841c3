import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { api } from '../../api/client';
import { useList } from '../../api/list';
import type { Dataset, TrainingJob } from '../../api/types';
import {
  AsyncList,
  CheckboxGroup,
  ErrorNotice,
  Field,
  Page,
  Panel,
  SelectField,
} from '../../components/ui';
import {
  ALGORITHMS,
  type AlgorithmId,
  defaultText,
  hyperparametersFrom,
} from '../../lib/hyperparameters';
import { Link, navigate, useLocation } from '../../lib/router';
import { useAction } from '../../lib/use-action';

/** A categorical target, or a whole-number one with few values, is a class label. */
function guessTask(dataset: Dataset, target: string): 'classification' | 'regression' {
  const column = dataset.columns.find((c) => c.name === target);
  if (!column || column.type !== 'numeric') return 'classification';
  const distinct = typeof column.distinct === 'number' ? column.distinct : Infinity;
  return column.integer === true && distinct <= 20 ? 'classification' : 'regression';
}

function JobForm({ datasets, initial }: { datasets: Dataset[]; initial: string | null }) {
  const [datasetId, setDatasetId] = useState(
    datasets.find((d) => d.id === initial)?.id ?? datasets[0].id,
  );
  const dataset = datasets.find((d) => d.id === datasetId) ?? datasets[0];
  const columns = dataset.columns.map((c) => c.name);
  const [target, setTarget] = useState(columns.at(-1) ?? '');
  const [task, setTask] = useState<'classification' | 'regression'>(() =>
    guessTask(dataset, columns.at(-1) ?? ''),
  );
  const [algorithm, setAlgorithm] = useState<AlgorithmId>('decision_tree');
  const [excluded, setExcluded] = useState<string[]>([]);
  const [modelName, setModelName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  // A new dataset or target starts from its own sensible choices.
  useEffect(() => {
    const last = dataset.columns.at(-1)?.name ?? '';
    setTarget(last);
    setTask(guessTask(dataset, last));
    setExcluded([]);
  }, [dataset]);

  const fields = useMemo(
    () =>
      ALGORITHMS.find((a) => a.id === algorithm)!.fields.filter(
        (f) => f.task === undefined || f.task === task,
      ),
    [algorithm, task],
  );
  const features = columns.filter((c) => c !== target && !excluded.includes(c));
  const defaultModelName = `${dataset.name}-${algorithm === 'mlp' ? 'mlp' : 'tree'}`
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, 63);

  const start = useAction(async (hyperparameters: Record<string, unknown>) => {
    const job = await api<TrainingJob>('/api/training-jobs', {
      method: 'POST',
      json: {
        datasetId,
        target,
        task,
        algorithm,
        modelName: modelName.trim() || defaultModelName,
        hyperparameters,
        ...(excluded.length > 0 && { features }),
      },
    });
    navigate(`/training/${job.id}`);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { hyperparameters, errors } = hyperparametersFrom(fields, values);
    setFieldErrors(errors);
    if (Object.keys(errors).length === 0) void start.run(hyperparameters);
  };
  const setValue = (name: string) => (value: string) =>
    setValues((previous) => ({ ...previous, [name]: value }));

  return (
    <form className="form-stack" onSubmit={submit}>
      <Panel title="Data">
        <div className="form-row">
          <SelectField
            label="Dataset"
            value={datasetId}
            onValue={setDatasetId}
            options={datasets.map((d) => ({ value: d.id, label: `${d.name} (${d.rows} rows)` }))}
          />
          <SelectField
            label="Target column"
            value={target}
            onChange={(event) => {
              setTarget(event.target.value);
              setTask(guessTask(dataset, event.target.value));
            }}
            options={columns}
          />
          <SelectField
            label="Task"
            value={task}
            onValue={(value) => setTask(value as typeof task)}
            options={['classification', 'regression']}
          />
        </div>
        <CheckboxGroup
          legend="Features"
          options={columns.filter((c) => c !== target)}
          isChecked={(column) => !excluded.includes(column)}
          onToggle={(column, checked) =>
            setExcluded((previous) =>
              checked ? previous.filter((c) => c !== column) : [...previous, column],
            )
          }
        />
      </Panel>
      <Panel title="Model">
        <div className="form-row">
          <SelectField
            label="Algorithm"
            value={algorithm}
            onChange={(event) => {
              setAlgorithm(event.target.value as AlgorithmId);
              setValues({});
              setFieldErrors({});
            }}
            options={ALGORITHMS.map((a) => ({ value: a.id, label: a.label }))}
          />
          <Field
            label="Model name"
            value={modelName}
            placeholder={defaultModelName}
            maxLength={63}
            onValue={setModelName}
            hint="The trained network becomes the next version of this model."
          />
        </div>
      </Panel>
      <Panel title="Hyperparameters">
        <div className="form-grid">
          {fields.map((field) =>
            field.kind === 'choice' ? (
              <SelectField
                key={`${algorithm}-${field.name}`}
                label={field.label}
                hint={field.help}
                name={field.name}
                value={values[field.name] ?? defaultText(field)}
                onValue={setValue(field.name)}
                options={[
                  ...(field.defaultValue === undefined
                    ? [{ value: '', label: 'trainer’s choice' }]
                    : []),
                  ...(field.choices ?? []),
                ]}
              />
            ) : (
              <Field
                key={`${algorithm}-${field.name}`}
                label={field.label}
                hint={field.help}
                name={field.name}
                inputMode={field.kind === 'intList' ? 'text' : 'decimal'}
                value={values[field.name] ?? defaultText(field)}
                placeholder={field.defaultValue === undefined ? 'trainer’s choice' : undefined}
                error={fieldErrors[field.name]}
                onValue={setValue(field.name)}
              />
            ),
          )}
        </div>
      </Panel>
      <ErrorNotice error={start.error} />
      <div>
        <button
          type="submit"
          className="button-primary"
          disabled={start.busy || features.length === 0}
        >
          {start.busy ? 'Starting…' : 'Start training'}
        </button>
      </div>
    </form>
  );
}

export function NewTrainingJobPage() {
  const { query } = useLocation();
  const datasets = useList<Dataset>('/api/datasets');
  return (
    <Page parent={{ to: '/training', label: 'Training' }} title="New job">
      <AsyncList
        state={datasets}
        rows={6}
        empty={
          <>
            Training needs a dataset: <Link to="/datasets">upload a CSV file</Link> first.
          </>
        }
      >
        {(items) => <JobForm datasets={items} initial={query.get('dataset')} />}
      </AsyncList>
    </Page>
  );
}
