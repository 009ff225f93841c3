import { useEffect, useId, useState } from 'react';
import { api } from '../../../api/client';
import type { Model, ModelVersion } from '../../../api/types';
import {
  DeleteButton,
  ErrorNotice,
  Field,
  ListOrEmpty,
  Notice,
  Panel,
  SelectField,
} from '../../../components/ui';
import { submitWith, useAction } from '../../../lib/use-action';

/** "v1 90% · v2 10%" */
export function splitText(versions: Record<string, number>): string {
  const total = Object.values(versions).reduce((a, b) => a + b, 0) || 1;
  return Object.entries(versions)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([v, w]) => `v${v} ${Math.round((w / total) * 1000) / 10}%`)
    .join(' · ');
}

/**
 * Labels name what a request without a version gets (`production` first): one version, or a
 * canary split between two with the weight on a slider.
 */
export function LabelsPanel({
  model,
  versions,
  onChanged,
}: {
  model: Model;
  versions: ModelVersion[];
  onChanged: () => void;
}) {
  const ready = versions.filter((v) => v.status === 'ready').map((v) => String(v.version));
  // The form starts from what `production` says now (its main version and its canary), else
  // from the newest ready version alone.
  const current = Object.entries(model.labels?.production?.versions ?? {}).sort(
    ([, a], [, b]) => b - a,
  );
  const total = current.reduce((sum, [, w]) => sum + w, 0) || 1;
  const [label, setLabel] = useState('production');
  const [primary, setPrimary] = useState(current[0]?.[0] ?? ready.at(-1) ?? '');
  const [canary, setCanary] = useState(current[1]?.[0] ?? '');
  const [weight, setWeight] = useState(
    current[1] ? Math.max(1, Math.round((current[1][1] / total) * 100)) : 10,
  );
  const [saved, setSaved] = useState<string | null>(null);
  const sliderId = useId();
  const labels = Object.entries(model.labels ?? {});
  const labelPath = (name: string) =>
    `/api/models/${encodeURIComponent(model.name)}/labels/${encodeURIComponent(name)}`;

  useEffect(() => {
    if (primary === '' && ready.length > 0) setPrimary(ready.at(-1)!);
  }, [primary, ready]);

  const save = useAction(async () => {
    setSaved(null);
    const body =
      canary !== '' && canary !== primary
        ? { versions: { [primary]: 100 - weight, [canary]: weight } }
        : { version: Number(primary) };
    await api(labelPath(label.trim()), { method: 'PUT', json: body });
    setSaved(label.trim());
    onChanged();
  });

  return (
    <Panel title="Labels and traffic" testId="labels-panel">
      <ListOrEmpty
        items={labels}
        empty={
          <>
            No labels: requests without a version get the newest ready version. Point
            <code> production</code> at a version to pin it.
          </>
        }
      >
        {(items) => (
          <ul className="label-list">
            {items.map(([name, target]) => (
              <li key={name} data-testid={`label-${name}`}>
                <strong>{name}</strong>
                <span className="label-split">{splitText(target.versions)}</span>
                <DeleteButton
                  className="button-small"
                  title={`Remove the label ${name}?`}
                  message={
                    <p>
                      Requests that name <code>{name}</code> will get 404; requests without a
                      version fall back to the newest ready version.
                    </p>
                  }
                  confirmLabel="Remove label"
                  path={labelPath(name)}
                  onDeleted={onChanged}
                >
                  Remove
                </DeleteButton>
              </li>
            ))}
          </ul>
        )}
      </ListOrEmpty>
      {ready.length === 0 ? (
        <p className="hint">A label points at ready versions; upload or train one first.</p>
      ) : (
        <form className="form-stack" onSubmit={submitWith(save.run)}>
          <div className="form-row">
            <Field label="Label" required maxLength={63} value={label} onValue={setLabel} />
            <SelectField
              label="Version"
              value={primary}
              onValue={setPrimary}
              options={ready.map((v) => ({ value: v, label: `v${v}` }))}
            />
            <SelectField
              label="Canary version"
              value={canary}
              onValue={setCanary}
              options={[
                { value: '', label: 'none' },
                ...ready.filter((v) => v !== primary).map((v) => ({ value: v, label: `v${v}` })),
              ]}
            />
          </div>
          {canary !== '' && canary !== primary && (
            <div className="field slider-field">
              <label htmlFor={sliderId}>Canary weight</label>
              <input
                id={sliderId}
                type="range"
                min={1}
                max={99}
                step={1}
                value={weight}
                onChange={(event) => setWeight(Number(event.target.value))}
                aria-valuetext={`${100 - weight}% to v${primary}, ${weight}% to v${canary}`}
                data-testid="canary-weight"
              />
              <output htmlFor={sliderId} className="slider-output">
                v{primary} {100 - weight}% · v{canary} {weight}%
              </output>
            </div>
          )}
          <div>
            <button type="submit" className="button-primary">
              Save label
            </button>
          </div>
          {saved && <Notice tone="good">Label {saved} saved.</Notice>}
          <ErrorNotice error={save.error} />
        </form>
      )}
    </Panel>
  );
}
