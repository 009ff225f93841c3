import { useId, useState } from 'react';
import { api } from '../../../api/client';
import type { ModelVersion, TensorSpec } from '../../../api/types';
import { DataTable } from '../../../components/DataTable';
import { ErrorNotice, Panel } from '../../../components/ui';
import { submitWith, useAction } from '../../../lib/use-action';
import { exampleFor, tensorFromText, type V2Tensor } from '../../../lib/tensor-input';

interface V2Answer {
  model_name?: string;
  model_version?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
}

function InputEditor({
  spec,
  value,
  onChange,
}: {
  spec: TensorSpec;
  value: string;
  onChange: (text: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>
        <code>{spec.name}</code> {spec.datatype} [{spec.shape.join(', ')}]
      </label>
      <textarea
        id={id}
        rows={3}
        spellCheck={false}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={`${id}-hint`}
        data-testid={`tryit-input-${spec.name}`}
      />
      <p id={`${id}-hint`} className="hint">
        A JSON array, nested to the shape or flat; -1 dimensions take any size (e.g. rows).
      </p>
    </div>
  );
}

/**
 * Builds an Open Inference Protocol request from the version's signature, sends it to
 * `/v2/models/{m}/versions/{v}/infer` as the signed-in tenant, and shows the outputs.
 */
export function TryItPanel({ version }: { version: ModelVersion }) {
  const inputs = version.inputs ?? [];
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(inputs.map((spec) => [spec.name, exampleFor(spec)])),
  );
  const [answer, setAnswer] = useState<{ body: V2Answer; ms: number } | null>(null);
  const [request, setRequest] = useState<{ inputs: V2Tensor[] } | null>(null);

  const send = useAction(async () => {
    setAnswer(null);
    const body = { inputs: inputs.map((spec) => tensorFromText(spec, texts[spec.name] ?? '')) };
    setRequest(body);
    const started = performance.now();
    const result = await api<V2Answer>(
      `/v2/models/${encodeURIComponent(version.model)}/versions/${version.version}/infer`,
      { method: 'POST', json: body },
    );
    setAnswer({ body: result, ms: performance.now() - started });
  });

  return (
    <Panel title={`Try version ${version.version}`} testId="tryit-panel">
      {version.status !== 'ready' ? (
        <p className="hint">Only a ready version answers (this one is {version.status}).</p>
      ) : inputs.length === 0 ? (
        <p className="hint">This version’s signature lists no inputs.</p>
      ) : (
        <form className="form-stack" onSubmit={submitWith(send.run)}>
          {inputs.map((spec) => (
            <InputEditor
              key={spec.name}
              spec={spec}
              value={texts[spec.name] ?? ''}
              onChange={(text) => setTexts((previous) => ({ ...previous, [spec.name]: text }))}
            />
          ))}
          <div>
            <button type="submit" className="button-primary" disabled={send.busy}>
              {send.busy ? 'Running…' : 'Run inference'}
            </button>
          </div>
        </form>
      )}
      <ErrorNotice error={send.error} />
      {answer && (
        <div className="tryit-answer" data-testid="tryit-answer" aria-live="polite">
          <p className="muted small">
            Answered in {answer.ms.toFixed(0)} ms
            {answer.body.model_version ? ` by version ${answer.body.model_version}` : ''}.
          </p>
          <DataTable
            label="Outputs"
            rows={answer.body.outputs}
            rowKey={(output) => output.name}
            columns={[
              { header: 'Output', cell: (output) => <code>{output.name}</code> },
              { header: 'Type', cell: (output) => output.datatype },
              { header: 'Shape', cell: (output) => `[${output.shape.join(', ')}]` },
              {
                header: 'Data',
                cell: (output) => (
                  <code data-testid={`tryit-output-${output.name}`}>
                    {JSON.stringify(output.data.slice(0, 200))}
                    {output.data.length > 200 ? ' …' : ''}
                  </code>
                ),
              },
            ]}
          />
        </div>
      )}
      {request && (
        <details className="request-details">
          <summary>Request body (Open Inference Protocol)</summary>
          <pre>{JSON.stringify(request, null, 2)}</pre>
        </details>
      )}
    </Panel>
  );
}
