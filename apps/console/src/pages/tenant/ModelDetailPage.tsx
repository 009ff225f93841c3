import { useState } from 'react';
import { api } from '../../api/client';
import type { Model, ModelVersion } from '../../api/types';
import { listAll } from '../../api/list';
import { DataTable } from '../../components/DataTable';
import {
  AsyncView,
  DeleteButton,
  DeletePanel,
  Facts,
  ListOrEmpty,
  Page,
  Panel,
  StatusBadge,
} from '../../components/ui';
import { formatBytes, formatTime, shortHash } from '../../lib/format';
import { navigate } from '../../lib/router';
import { useAsync } from '../../lib/use-async';
import { LabelsPanel } from './model/LabelsPanel';
import { Signature } from './model/signature';
import { TreePanel } from './model/TreePanel';
import { TryItPanel } from './model/TryItPanel';
import { UploadPanel } from './model/UploadPanel';

const SETTLING = ['uploading', 'validating'];

/**
 * A version a training job made, and not a network: the version view does not name the
 * algorithm, but an MLP's metrics always record its epochs (`epochsRun`), a tree's never.
 */
const isTrainedTree = (v: ModelVersion) =>
  v.trainingJobId !== null && v.metrics !== null && !('epochsRun' in v.metrics);

export function ModelDetailPage({ name }: { name: string }) {
  const path = `/api/models/${encodeURIComponent(name)}`;
  const [settling, setSettling] = useState(false);
  const data = useAsync(
    async (signal) => {
      const [model, versions] = await Promise.all([
        api<Model>(path, { signal }),
        listAll<ModelVersion>(`${path}/versions`, signal),
      ]);
      setSettling(versions.some((v) => SETTLING.includes(v.status)));
      return { model, versions };
    },
    [path],
    // Versions still validating are followed until they settle.
    { pollMs: settling ? 1_500 : undefined },
  );
  const [tryVersion, setTryVersion] = useState<number | null>(null);
  const [treeVersion, setTreeVersion] = useState<number | null>(null);

  return (
    <Page parent={{ to: '/models', label: 'Models' }} title={name}>
      <AsyncView state={data} rows={6}>
        {({ model, versions }) => {
          const newestReady = [...versions].reverse().find((v) => v.status === 'ready');
          const tried = versions.find((v) => v.version === tryVersion) ?? newestReady;
          return (
            <>
              {model.description && <p className="lead">{model.description}</p>}
              <Panel title="Versions" testId="versions-panel">
                <ListOrEmpty
                  items={[...versions].reverse()}
                  empty="No versions yet: upload a model file below."
                >
                  {(newestFirst) => (
                    <DataTable
                      label="Versions"
                      rows={newestFirst}
                      rowKey={(v) => v.version}
                      rowTestId={(v) => `version-${v.version}`}
                      columns={[
                        { header: 'Version', cell: (v) => `v${v.version}` },
                        {
                          header: 'Status',
                          cell: (v) => (
                            <>
                              <StatusBadge
                                status={v.status}
                                testId={`version-status-${v.version}`}
                              />
                              {v.statusReason && (
                                <div className="muted small">{v.statusReason}</div>
                              )}
                            </>
                          ),
                        },
                        { header: 'Format', cell: (v) => v.format },
                        { header: 'Size', cell: (v) => formatBytes(v.sizeBytes) },
                        {
                          header: 'sha256',
                          cell: (v) => (
                            <code title={v.sha256 ?? undefined} data-testid={`sha256-${v.version}`}>
                              {shortHash(v.sha256)}
                            </code>
                          ),
                        },
                        { header: 'Inputs', cell: (v) => <Signature tensors={v.inputs} /> },
                        { header: 'Outputs', cell: (v) => <Signature tensors={v.outputs} /> },
                        { header: 'Created', cell: (v) => formatTime(v.createdAt) },
                      ]}
                      actions={(v) => (
                        <>
                          <button
                            type="button"
                            className="button-small"
                            disabled={v.status !== 'ready'}
                            onClick={() => setTryVersion(v.version)}
                          >
                            Try v{v.version}
                          </button>
                          {isTrainedTree(v) && (
                            <button
                              type="button"
                              className="button-small"
                              onClick={() => setTreeVersion(v.version)}
                            >
                              Tree
                            </button>
                          )}
                          <DeleteButton
                            className="button-small button-danger"
                            title={`Delete version ${v.version}?`}
                            message={
                              <p>
                                Version {v.version} is archived and its bytes are removed. A label
                                still pointing at it must be moved first.
                              </p>
                            }
                            confirmLabel={`Delete v${v.version}`}
                            disabled={v.status === 'archived'}
                            path={`${path}/versions/${v.version}`}
                            onDeleted={data.reload}
                          >
                            Delete
                          </DeleteButton>
                        </>
                      )}
                    />
                  )}
                </ListOrEmpty>
              </Panel>
              <div className="columns">
                <UploadPanel model={name} onUploaded={() => data.reload()} />
                <LabelsPanel model={model} versions={versions} onChanged={() => data.reload()} />
              </div>
              {tried && <TryItPanel key={tried.version} version={tried} />}
              {treeVersion !== null && <TreePanel model={name} version={treeVersion} />}
              {tried?.metrics && Object.keys(tried.metrics).length > 0 && (
                <Panel title={`Metrics recorded with version ${tried.version}`}>
                  <Facts
                    items={Object.entries(tried.metrics)
                      .filter(([, value]) => typeof value !== 'object')
                      .map(([key, value]) => [key, String(value)])}
                  />
                </Panel>
              )}
              <DeletePanel
                what="model"
                hint="Removes every version and its stored bytes. There is no undo."
                title={`Delete the model ${name}?`}
                message={
                  <p>
                    All {versions.length} versions of <strong>{name}</strong> and their bytes are
                    removed; clients calling it get 404.
                  </p>
                }
                path={path}
                onDeleted={() => navigate('/models')}
              />
            </>
          );
        }}
      </AsyncView>
    </Page>
  );
}
