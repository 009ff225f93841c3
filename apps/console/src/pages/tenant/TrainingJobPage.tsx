import { useEffect, useMemo, useState } from 'react';
import { api } from '../../api/client';
import { followEvents } from '../../api/sse';
import { TERMINAL_STATUSES, type TrainingJob } from '../../api/types';
import { Chart, type Series } from '../../charts/charts';
import { DataTable, hidden } from '../../components/DataTable';
import {
  ConfirmButton,
  ErrorNotice,
  Facts,
  Loading,
  Page,
  Panel,
  StatusBadge,
} from '../../components/ui';
import { formatDuration, formatNumber, formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { TreePanel } from './model/TreePanel';

interface EpochPoint {
  epoch: number;
  loss: number;
  valLoss?: number;
  accuracy?: number;
  valAccuracy?: number;
}

interface JobEvents {
  job: TrainingJob | null;
  epochs: EpochPoint[];
  stages: Record<string, number | string>[];
  logs: { at?: string; message: string }[];
  error: unknown;
}

/**
 * The job, then its event stream: the progress recorded so far (replayed), live progress as
 * the trainer reports it, and the final state, which ends the stream.
 */
function useJobEvents(id: string): JobEvents & { setJob: (job: TrainingJob) => void } {
  const [state, setState] = useState<JobEvents>({
    job: null,
    epochs: [],
    stages: [],
    logs: [],
    error: null,
  });
  useEffect(() => {
    const controller = new AbortController();
    const seen = new Set<string>();
    const apply = (event: string, data: Record<string, unknown>) => {
      setState((previous) => {
        switch (event) {
          case 'state':
          case 'end':
            return { ...previous, job: { ...(previous.job ?? {}), ...data } as TrainingJob };
          case 'progress':
            if (typeof data.epoch === 'number' && typeof data.loss === 'number') {
              const point: EpochPoint = {
                epoch: data.epoch,
                loss: data.loss,
                ...(typeof data.valLoss === 'number' && { valLoss: data.valLoss }),
                ...(typeof data.accuracy === 'number' && { accuracy: data.accuracy }),
                ...(typeof data.valAccuracy === 'number' && { valAccuracy: data.valAccuracy }),
              };
              const epochs = previous.epochs.filter((p) => p.epoch < point.epoch);
              return { ...previous, epochs: [...epochs, point] };
            }
            return { ...previous, stages: [...previous.stages, data as Record<string, number>] };
          case 'log':
            return {
              ...previous,
              logs: [
                ...previous.logs,
                { at: data.at as string | undefined, message: String(data.message) },
              ],
            };
          default:
            return previous;
        }
      });
    };
    void (async () => {
      try {
        const job = await api<TrainingJob>(`/api/training-jobs/${id}`, {
          signal: controller.signal,
        });
        setState((previous) => ({ ...previous, job }));
        await followEvents(`/api/training-jobs/${id}/events`, {
          signal: controller.signal,
          onMessage: (message) => {
            if (message.id !== undefined) {
              if (seen.has(message.id)) return;
              seen.add(message.id);
            }
            let data: unknown;
            try {
              data = JSON.parse(message.data);
            } catch {
              return;
            }
            if (message.event === 'error') {
              setState((previous) => ({
                ...previous,
                error: new Error(String((data as { message?: unknown }).message)),
              }));
              return;
            }
            if (data !== null && typeof data === 'object') {
              apply(message.event, data as Record<string, unknown>);
            }
          },
        });
      } catch (error) {
        if (!controller.signal.aborted) setState((previous) => ({ ...previous, error }));
      }
    })();
    return () => controller.abort();
  }, [id]);
  return {
    ...state,
    setJob: (job) => setState((previous) => ({ ...previous, job })),
  };
}

function ConfusionMatrix({ labels, matrix }: { labels: string[]; matrix: number[][] }) {
  const max = Math.max(1, ...matrix.flat());
  return (
    <DataTable
      label="Confusion matrix"
      className="confusion"
      testId="confusion-matrix"
      caption="Rows: true class; columns: predicted class."
      rows={matrix}
      rowKey={(_, i) => labels[i]}
      columns={[
        { header: hidden('True class'), rowHeader: true, cell: (_, i) => labels[i] },
        ...labels.map((label, j) => ({
          header: label,
          cell: (row: number[]) => row[j],
          className: (row: number[], i: number) =>
            `heat heat-${Math.min(4, Math.ceil((row[j] / max) * 4))}${i === j ? ' diagonal' : ''}`,
        })),
      ]}
    />
  );
}

function Metrics({ metrics }: { metrics: Record<string, unknown> }) {
  const confusion = metrics.confusionMatrix as { labels: string[]; matrix: number[][] } | undefined;
  const scalars = Object.entries(metrics).filter(
    ([, value]) => value === null || typeof value !== 'object',
  );
  return (
    <Panel title="Metrics" testId="job-metrics">
      <Facts items={scalars.map(([key, value]) => [key, formatNumber(value)])} />
      {confusion && <ConfusionMatrix labels={confusion.labels} matrix={confusion.matrix} />}
    </Panel>
  );
}

export function TrainingJobPage({ id }: { id: string }) {
  const { job, epochs, stages, logs, error, setJob } = useJobEvents(id);
  const [cancelError, setCancelError] = useState<unknown>(null);

  const lossSeries = useMemo(() => {
    const x = epochs.map((p) => p.epoch);
    const series: Series[] = [{ label: 'loss', values: epochs.map((p) => p.loss) }];
    if (epochs.some((p) => p.valLoss !== undefined)) {
      series.push({ label: 'validation loss', values: epochs.map((p) => p.valLoss ?? null) });
    }
    return { x, series };
  }, [epochs]);
  const accuracySeries = useMemo(() => {
    const series: Series[] = [];
    if (epochs.some((p) => p.accuracy !== undefined)) {
      series.push({ label: 'accuracy', values: epochs.map((p) => p.accuracy ?? null) });
    }
    if (epochs.some((p) => p.valAccuracy !== undefined)) {
      series.push({
        label: 'validation accuracy',
        values: epochs.map((p) => p.valAccuracy ?? null),
      });
    }
    return { x: epochs.map((p) => p.epoch), series };
  }, [epochs]);

  if (job === null) {
    return (
      <Page title="Training job">
        {error ? <ErrorNotice error={error} /> : <Loading rows={6} />}
      </Page>
    );
  }
  const finished = TERMINAL_STATUSES.includes(job.status);
  const last = epochs.at(-1);
  const progressEpochs = typeof job.progress?.epochs === 'number' ? job.progress.epochs : undefined;

  return (
    <Page
      parent={{ to: '/training', label: 'Training' }}
      title={job.modelName}
      actions={
        !finished && (
          <ConfirmButton
            title="Cancel this training job?"
            message={<p>The trainer stops it at its next check; no version is registered.</p>}
            confirmLabel="Cancel job"
            disabled={job.cancelRequested}
            onConfirm={async () => {
              setCancelError(null);
              try {
                setJob(
                  await api<TrainingJob>(`/api/training-jobs/${id}/cancel`, { method: 'POST' }),
                );
              } catch (caught) {
                setCancelError(caught);
                throw caught;
              }
            }}
          >
            {job.cancelRequested ? 'Cancelling…' : 'Cancel job'}
          </ConfirmButton>
        )
      }
    >
      <ErrorNotice error={error} />
      <ErrorNotice error={cancelError} />
      <Panel title="Job">
        <Facts
          items={[
            ['Status', <StatusBadge key="s" status={job.status} testId="job-status" />],
            ['Algorithm', job.algorithm],
            ['Task', job.task],
            ['Target', job.target],
            ['Features', job.features.join(', ') || '—'],
            ['Backend', job.backend ?? '—'],
            ['Training time', formatDuration(job.trainingSeconds)],
            ['Created', formatTime(job.createdAt)],
            ['Finished', formatTime(job.finishedAt)],
            [
              'Model version',
              job.modelVersion ? (
                <Link to={`/models/${encodeURIComponent(job.modelVersion.model)}`}>
                  {job.modelVersion.model} v{job.modelVersion.version}
                </Link>
              ) : (
                '—'
              ),
            ],
          ]}
        />
        {job.error && (
          <div className="notice notice-error" role="alert">
            {job.error}
          </div>
        )}
        <details>
          <summary>Hyperparameters</summary>
          <pre>{JSON.stringify(job.hyperparameters, null, 2)}</pre>
        </details>
      </Panel>
      {job.algorithm === 'mlp' && (
        <Panel title="Learning curves" testId="curves">
          <p className="muted small" aria-live="polite" data-testid="epoch-progress">
            {last
              ? `Epoch ${last.epoch}${progressEpochs ? ` of ${progressEpochs}` : ''}: loss ${formatNumber(last.loss)}`
              : finished
                ? 'No epochs were reported.'
                : 'Waiting for the first epoch…'}
          </p>
          <div className="charts">
            {[
              {
                title: 'Loss per epoch',
                testId: 'loss-chart',
                ...lossSeries,
                summary: last ? `latest loss ${formatNumber(last.loss)}` : undefined,
              },
              { title: 'Accuracy per epoch', testId: 'accuracy-chart', ...accuracySeries },
            ]
              // No accuracy chart for a regression (no accuracy reported).
              .filter((chart) => chart.series.length > 0)
              .map((chart) => (
                <Chart key={chart.testId} {...chart} xLabel="epoch" />
              ))}
          </div>
        </Panel>
      )}
      {job.algorithm === 'decision_tree' && stages.length > 0 && (
        <Panel title="Tree growth">
          <DataTable
            label="Tree growth"
            rows={stages}
            columns={[
              { header: 'Stage', cell: (stage) => String(stage.stage ?? '—') },
              ...(['Nodes', 'Leaves', 'Depth'] as const).map((header) => ({
                header,
                cell: (stage: Record<string, number | string>) =>
                  formatNumber(stage[header.toLowerCase()]),
              })),
            ]}
          />
        </Panel>
      )}
      {job.metrics && Object.keys(job.metrics).length > 0 && <Metrics metrics={job.metrics} />}
      {job.algorithm === 'decision_tree' && job.status === 'succeeded' && job.modelVersion && (
        <TreePanel model={job.modelVersion.model} version={job.modelVersion.version} />
      )}
      {logs.length > 0 && (
        <Panel title="Log">
          <ol className="log">
            {logs.map((entry, i) => (
              <li key={i}>
                <span className="muted small">{formatTime(entry.at)}</span> {entry.message}
              </li>
            ))}
          </ol>
        </Panel>
      )}
    </Page>
  );
}
